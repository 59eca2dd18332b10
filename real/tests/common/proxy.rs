//! Fault-injecting proxies for partitions: a TCP forwarder for the replication link and
//! a UDP forwarder per direction of a ring. Cut, a TCP proxy closes its connections and
//! refuses new ones (the peer sees the link die); a UDP proxy drops every datagram.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A TCP forwarder.
#[derive(Debug)]
pub struct TcpProxy {
    pub listen: String,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl TcpProxy {
    pub fn start(listen: &str, upstream: &str) -> TcpProxy {
        let listener = TcpListener::bind(listen).expect("bind proxy");
        let cut = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (c, o, up) = (cut.clone(), open.clone(), upstream.to_string());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if c.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&up) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                if let (Ok(c1), Ok(s1)) = (client.try_clone(), server.try_clone())
                    && let Ok(mut open) = o.lock()
                {
                    open.push(c1);
                    open.push(s1);
                }
                pump(&client, &server);
                pump(&server, &client);
            }
        });
        TcpProxy {
            listen: listen.to_string(),
            cut,
            open,
        }
    }

    pub fn set_cut(&self, cut: bool) {
        self.cut.store(cut, Ordering::SeqCst);
        if cut && let Ok(mut open) = self.open.lock() {
            for s in open.drain(..) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

fn pump(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

/// A one-way UDP forwarder.
#[derive(Debug)]
pub struct UdpProxy {
    pub listen: String,
    cut: Arc<AtomicBool>,
}

impl UdpProxy {
    pub fn start(listen: &str, upstream: &str) -> UdpProxy {
        let sock = UdpSocket::bind(listen).expect("bind udp proxy");
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let cut = Arc::new(AtomicBool::new(false));
        let (c, up) = (cut.clone(), upstream.to_string());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            loop {
                if let Ok((n, _)) = sock.recv_from(&mut buf)
                    && !c.load(Ordering::SeqCst)
                {
                    let _ = sock.send_to(&buf[..n], &up);
                }
            }
        });
        UdpProxy {
            listen: listen.to_string(),
            cut,
        }
    }

    pub fn set_cut(&self, cut: bool) {
        self.cut.store(cut, Ordering::SeqCst);
    }
}
