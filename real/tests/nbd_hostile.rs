//! The NBD server against a raw TcpStream: hostile or broken input must close that
//! connection only (a qemu-io session afterwards still works), bad requests must get the
//! protocol's errors, and the option replies, out-of-order replies, disconnect, the
//! handshake deadline and the connection cap behave as documented.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use real::nbd::{BlockDevice, NbdError, NbdExport, serve};

const SIZE: usize = 1 << 20;
/// Reads at this offset take [`SLOW`], so later requests overtake them.
const SLOW_OFFSET: u64 = 512 << 10;
const SLOW: Duration = Duration::from_millis(300);

const IHAVEOPT: &[u8; 8] = b"IHAVEOPT";
const REQUEST_MAGIC: u32 = 0x2560_9513;
const READ: u16 = 0;
const WRITE: u16 = 1;
const DISC: u16 = 2;
const TRIM: u16 = 4;
const WRITE_ZEROES: u16 = 6;
const OPT_EXPORT_NAME: u32 = 1;
const OPT_ABORT: u32 = 2;
const OPT_LIST: u32 = 3;
const OPT_INFO: u32 = 6;
const OPT_GO: u32 = 7;
const REP_ACK: u32 = 1;
const REP_SERVER: u32 = 2;
const REP_INFO: u32 = 3;
const ERR_UNSUP: u32 = 0x8000_0001;
const ERR_INVALID: u32 = 0x8000_0003;
const ERR_UNKNOWN: u32 = 0x8000_0006;
const EINVAL: u32 = 22;
const ENOSPC: u32 = 28;

/// An in-memory device; reads at [`SLOW_OFFSET`] are slow.
#[derive(Clone, Default)]
struct MemDevice {
    data: Arc<Mutex<Vec<u8>>>,
    unavailable: Arc<Mutex<Option<String>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl BlockDevice for MemDevice {
    fn size(&self) -> u64 {
        lock(&self.data).len() as u64
    }
    fn unavailable(&self) -> Option<String> {
        lock(&self.unavailable).clone()
    }
    async fn read(&self, offset: u64, len: u32) -> Result<Vec<u8>, NbdError> {
        if offset == SLOW_OFFSET {
            tokio::time::sleep(SLOW).await;
        }
        let start = offset as usize;
        lock(&self.data)
            .get(start..start + len as usize)
            .map(<[u8]>::to_vec)
            .ok_or(NbdError::Io)
    }
    async fn write(&self, offset: u64, data: Vec<u8>, _fua: bool) -> Result<(), NbdError> {
        let start = offset as usize;
        let mut disk = lock(&self.data);
        disk.get_mut(start..start + data.len())
            .ok_or(NbdError::Io)?
            .copy_from_slice(&data);
        Ok(())
    }
    async fn flush(&self) -> Result<(), NbdError> {
        Ok(())
    }
    async fn trim(&self, _offset: u64, _len: u32) -> Result<(), NbdError> {
        Ok(())
    }
}

/// Starts a server with `tune` applied to its settings; returns its address and device.
fn start(tune: impl FnOnce(&mut NbdExport<MemDevice>)) -> (SocketAddr, MemDevice) {
    let device = MemDevice {
        data: Arc::new(Mutex::new(vec![0; SIZE])),
        ..MemDevice::default()
    };
    let mut export = NbdExport {
        description: "hostile test".to_owned(),
        ..NbdExport::new("disk", device.clone())
    };
    tune(&mut export);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            serve(
                tokio::net::TcpListener::from_std(listener).expect("listener"),
                export,
            )
            .await
        })
    });
    (addr, device)
}

/// qemu-io writes and reads back a pattern: the server still serves.
fn assert_qemu_io_works(addr: SocketAddr) {
    let url = format!("nbd://{addr}/disk");
    let out = Command::new("qemu-io")
        .args([
            "-f",
            "raw",
            &url,
            "-c",
            "write -P 0x77 0 4k",
            "-c",
            "read -P 0x77 0 4k",
        ])
        .output()
        .expect("run qemu-io (install qemu-utils)");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && !all.contains("failed"),
        "qemu-io after hostile input: {all}"
    );
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s
}

fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).expect("read from server");
    buf
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b[..4].try_into().expect("4 bytes"))
}

/// Reads the greeting and sends the client flags.
fn greet(addr: SocketAddr, client_flags: u32) -> TcpStream {
    let mut s = connect(addr);
    let g = read_n(&mut s, 18);
    assert_eq!(&g[..16], b"NBDMAGICIHAVEOPT");
    assert_eq!(&g[16..], &[0, 3], "FIXED_NEWSTYLE | NO_ZEROES");
    s.write_all(&client_flags.to_be_bytes()).expect("flags");
    s
}

fn send_option(s: &mut TcpStream, option: u32, data: &[u8]) {
    let mut msg = IHAVEOPT.to_vec();
    msg.extend_from_slice(&option.to_be_bytes());
    msg.extend_from_slice(&(data.len() as u32).to_be_bytes());
    msg.extend_from_slice(data);
    s.write_all(&msg).expect("option");
}

/// Reads one option reply: (option, reply type, data).
fn option_reply(s: &mut TcpStream) -> (u32, u32, Vec<u8>) {
    let h = read_n(s, 20);
    assert_eq!(
        &h[..8],
        &[0, 3, 0xe8, 0x89, 0x04, 0x55, 0x65, 0xa9],
        "option reply magic"
    );
    let data = read_n(s, be32(&h[16..]) as usize);
    (be32(&h[8..]), be32(&h[12..]), data)
}

fn info_data(name: &str, items: &[u16]) -> Vec<u8> {
    let mut d = (name.len() as u32).to_be_bytes().to_vec();
    d.extend_from_slice(name.as_bytes());
    d.extend_from_slice(&(items.len() as u16).to_be_bytes());
    items
        .iter()
        .for_each(|i| d.extend_from_slice(&i.to_be_bytes()));
    d
}

/// A connection in transmission on export "disk" via NBD_OPT_GO.
fn transmission(addr: SocketAddr) -> TcpStream {
    let mut s = greet(addr, 3);
    send_option(&mut s, OPT_GO, &info_data("disk", &[]));
    loop {
        match option_reply(&mut s) {
            (OPT_GO, REP_INFO, _) => {}
            (OPT_GO, REP_ACK, _) => return s,
            other => panic!("unexpected reply to NBD_OPT_GO: {other:?}"),
        }
    }
}

fn request(s: &mut TcpStream, flags: u16, command: u16, handle: u64, offset: u64, len: u32) {
    let mut msg = REQUEST_MAGIC.to_be_bytes().to_vec();
    msg.extend_from_slice(&flags.to_be_bytes());
    msg.extend_from_slice(&command.to_be_bytes());
    msg.extend_from_slice(&handle.to_be_bytes());
    msg.extend_from_slice(&offset.to_be_bytes());
    msg.extend_from_slice(&len.to_be_bytes());
    s.write_all(&msg).expect("request");
}

/// Reads a simple reply header: (error, handle).
fn reply(s: &mut TcpStream) -> (u32, u64) {
    let r = read_n(s, 16);
    assert_eq!(be32(&r), 0x6744_6698, "simple reply magic");
    (
        be32(&r[4..]),
        u64::from_be_bytes(r[8..].try_into().expect("8 bytes")),
    )
}

/// The server closes the connection (end of stream or reset) within the read timeout.
fn assert_closed(mut s: TcpStream, what: &str) {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return,
            Err(e) => panic!("{what}: the server did not close the connection: {e}"),
        }
    }
}

#[test]
fn garbage_magic_and_unknown_flags_close_the_connection() {
    let (addr, _) = start(|_| {});
    let mut s = greet(addr, 3);
    s.write_all(b"GARBAGE!\0\0\0\x07\0\0\0\0").expect("write");
    assert_closed(s, "bad option magic");
    assert_closed(greet(addr, 1 << 5), "unknown client flags");
    let mut s = transmission(addr);
    s.write_all(&[0xde, 0xad, 0xbe, 0xef]).expect("write");
    s.write_all(&[0; 24]).expect("write");
    assert_closed(s, "bad request magic");
    assert_qemu_io_works(addr);
}

#[test]
fn a_truncated_handshake_closes_the_connection() {
    let (addr, _) = start(|_| {});
    let mut s = connect(addr);
    read_n(&mut s, 18);
    s.write_all(&[0, 0]).expect("half the flags");
    s.shutdown(Shutdown::Write).expect("shutdown");
    assert_closed(s, "truncated client flags");
    let mut s = greet(addr, 3);
    s.write_all(&IHAVEOPT[..]).expect("half a header");
    s.shutdown(Shutdown::Write).expect("shutdown");
    assert_closed(s, "truncated option header");
    let mut s = greet(addr, 3);
    s.write_all(b"IHAVEOPT\0\0\0\x07\0\0\0\x40disk")
        .expect("short data");
    s.shutdown(Shutdown::Write).expect("shutdown");
    assert_closed(s, "truncated option data");
    assert_qemu_io_works(addr);
}

#[test]
fn an_option_claiming_4_gib_closes_the_connection() {
    let (addr, _) = start(|_| {});
    let mut s = greet(addr, 3);
    s.write_all(b"IHAVEOPT\0\0\0\x07\xff\xff\xff\xff")
        .expect("header");
    s.write_all(&[0; 1024]).expect("some data");
    assert_closed(s, "4 GiB option");
    assert_qemu_io_works(addr);
}

#[test]
fn a_write_claiming_1_gib_closes_the_connection() {
    let (addr, device) = start(|_| {});
    let mut s = transmission(addr);
    request(&mut s, 0, WRITE, 1, 0, 1 << 30);
    // The server may close while this is still being sent.
    let _ = s.write_all(&[0xee; 64 << 10]);
    assert_closed(s, "1 GiB write");
    assert!(
        lock(&device.data).iter().all(|&b| b == 0),
        "the refused write touched the device"
    );
    assert_qemu_io_works(addr);
}

#[test]
fn bad_requests_get_protocol_errors_and_the_connection_survives() {
    let (addr, device) = start(|_| {});
    let mut s = transmission(addr);
    let size = SIZE as u64;
    let cases: [(u16, u16, u64, u32, u32); 9] = [
        (0, READ, size - 1, 2, EINVAL),       // read past the end
        (0, READ, u64::MAX, 1, EINVAL),       // offset + length overflows
        (0, READ, 0, 0, EINVAL),              // zero length
        (0, READ, 0, (32 << 20) + 1, EINVAL), // over the maximum payload
        (0, TRIM, size, 1, EINVAL),           // trim past the end
        (0, WRITE_ZEROES, size, 1, ENOSPC),   // write zeroes past the end
        (0, 5, 0, 512, EINVAL),               // NBD_CMD_CACHE: not advertised
        (0, 99, 0, 512, EINVAL),              // unknown command
        (1 << 1, READ, 0, 512, EINVAL),       // NO_HOLE on a read
    ];
    for (i, &(flags, command, offset, len, errno)) in cases.iter().enumerate() {
        request(&mut s, flags, command, i as u64, offset, len);
        assert_eq!(reply(&mut s), (errno, i as u64), "case {i}");
    }
    // A write past the end: ENOSPC, and its payload is consumed, not parsed as requests.
    request(&mut s, 0, WRITE, 100, size - 512, 1024);
    s.write_all(&[0xaa; 1024]).expect("payload");
    assert_eq!(reply(&mut s), (ENOSPC, 100));
    assert!(
        lock(&device.data).iter().all(|&b| b == 0),
        "a refused write touched the device"
    );
    // A zero-length write has no payload.
    request(&mut s, 0, WRITE, 101, 0, 0);
    assert_eq!(reply(&mut s), (EINVAL, 101));
    // The connection still works: write with FUA, read back, write zeroes over part.
    request(&mut s, 1, WRITE, 102, size - 3, 3);
    s.write_all(&[1, 2, 3]).expect("payload");
    assert_eq!(reply(&mut s), (0, 102));
    request(&mut s, 1 << 1, WRITE_ZEROES, 103, size - 2, 1);
    assert_eq!(reply(&mut s), (0, 103));
    request(&mut s, 0, READ, 104, size - 3, 3);
    assert_eq!(reply(&mut s), (0, 104));
    assert_eq!(read_n(&mut s, 3), vec![1, 0, 3]);
    request(&mut s, 0, DISC, 105, 0, 0);
    assert_closed(s, "NBD_CMD_DISC");
}

#[test]
fn options_are_answered_per_the_spec() {
    let (addr, device) = start(|_| {});
    let mut s = greet(addr, 3);
    for option in [8, 5, 9, 10, 11, 999] {
        // Structured replies, TLS, meta contexts, extended headers, unknown.
        send_option(&mut s, option, &[]);
        let (opt, ty, _) = option_reply(&mut s);
        assert_eq!((opt, ty), (option, ERR_UNSUP));
    }
    send_option(&mut s, OPT_LIST, b"x");
    assert_eq!(option_reply(&mut s).1, ERR_INVALID);
    send_option(&mut s, OPT_LIST, &[]);
    let (_, ty, data) = option_reply(&mut s);
    assert_eq!(ty, REP_SERVER);
    assert_eq!(&data[..8], b"\0\0\0\x04disk");
    assert_eq!(&data[8..], b"hostile test");
    assert_eq!(option_reply(&mut s), (OPT_LIST, REP_ACK, vec![]));

    // NBD_OPT_INFO asking for the name and description; block size comes unasked.
    send_option(&mut s, OPT_INFO, &info_data("", &[1, 2]));
    let mut infos = Vec::new();
    loop {
        match option_reply(&mut s) {
            (OPT_INFO, REP_INFO, data) => infos.push(data),
            (OPT_INFO, REP_ACK, _) => break,
            other => panic!("unexpected reply to NBD_OPT_INFO: {other:?}"),
        }
    }
    let mut export = vec![0, 0];
    export.extend_from_slice(&(SIZE as u64).to_be_bytes());
    export.extend_from_slice(&[0, 0x6d]);
    let mut block = vec![0, 3, 0, 0, 0, 1, 0, 0, 0x10, 0];
    block.extend_from_slice(&(32u32 << 20).to_be_bytes());
    assert_eq!(
        infos,
        vec![
            export,
            b"\0\x01disk".to_vec(),
            b"\0\x02hostile test".to_vec(),
            block
        ]
    );

    send_option(&mut s, OPT_INFO, &[0, 0, 0, 9, b'd']);
    assert_eq!(
        option_reply(&mut s).1,
        ERR_INVALID,
        "name running past the data"
    );
    send_option(&mut s, OPT_GO, &info_data("nope", &[]));
    let (_, ty, msg) = option_reply(&mut s);
    assert_eq!(ty, ERR_UNKNOWN);
    assert!(String::from_utf8_lossy(&msg).contains("nope"));
    device
        .unavailable
        .lock()
        .expect("lock")
        .replace("this node is Secondary".to_owned());
    send_option(&mut s, OPT_GO, &info_data("disk", &[]));
    assert_eq!(
        option_reply(&mut s),
        (OPT_GO, ERR_UNKNOWN, b"this node is Secondary".to_vec())
    );
    send_option(&mut s, OPT_LIST, &[]);
    assert_eq!(
        option_reply(&mut s),
        (OPT_LIST, ERR_UNKNOWN, b"this node is Secondary".to_vec())
    );
    // NBD_OPT_EXPORT_NAME cannot carry an error: the server hangs up.
    send_option(&mut s, OPT_EXPORT_NAME, b"disk");
    assert_closed(s, "NBD_OPT_EXPORT_NAME of an unavailable export");
    device.unavailable.lock().expect("lock").take();

    let mut s = greet(addr, 3);
    send_option(&mut s, OPT_EXPORT_NAME, b"nope");
    assert_closed(s, "NBD_OPT_EXPORT_NAME of an unknown export");
    let mut s = greet(addr, 3);
    send_option(&mut s, OPT_ABORT, &[]);
    assert_eq!(option_reply(&mut s), (OPT_ABORT, REP_ACK, vec![]));
    assert_closed(s, "NBD_OPT_ABORT");
}

#[test]
fn export_name_sends_zeroes_unless_no_zeroes() {
    let (addr, _) = start(|_| {});
    for (flags, pad) in [(3u32, 0usize), (1, 124), (0, 124)] {
        let mut s = greet(addr, flags);
        send_option(&mut s, OPT_EXPORT_NAME, b"disk");
        let r = read_n(&mut s, 10);
        assert_eq!(&r[..8], &(SIZE as u64).to_be_bytes());
        assert_eq!(&r[8..], &[0, 0x6d]);
        assert_eq!(read_n(&mut s, pad), vec![0; pad]);
        // The next bytes are a reply, not padding.
        request(&mut s, 0, READ, 7, 0, 16);
        assert_eq!(reply(&mut s), (0, 7));
        assert_eq!(read_n(&mut s, 16), vec![0; 16]);
    }
}

#[test]
fn replies_come_out_of_order_and_disc_waits_for_them() {
    let (addr, _) = start(|_| {});
    let mut s = transmission(addr);
    request(&mut s, 0, READ, 1, SLOW_OFFSET, 4096);
    request(&mut s, 0, READ, 2, 0, 4096);
    assert_eq!(
        reply(&mut s),
        (0, 2),
        "the fast read overtakes the slow one"
    );
    read_n(&mut s, 4096);
    assert_eq!(reply(&mut s), (0, 1));
    read_n(&mut s, 4096);
    // A disconnect while a slow read is in flight: its reply still comes, then EOF.
    request(&mut s, 0, READ, 3, SLOW_OFFSET, 4096);
    request(&mut s, 0, DISC, 4, 0, 0);
    assert_eq!(reply(&mut s), (0, 3));
    read_n(&mut s, 4096);
    assert_closed(s, "after NBD_CMD_DISC");
}

#[test]
fn many_pipelined_requests_are_all_answered() {
    let (addr, device) = start(|_| {});
    let mut s = transmission(addr);
    let mut writer = s.try_clone().expect("clone");
    // 80 writes of 1 MiB (over the per-connection byte budget) and 300 small reads, sent
    // without reading a reply; the server must apply back-pressure, not drop anything.
    let sender = std::thread::spawn(move || {
        for i in 0..80u64 {
            request(&mut writer, 0, WRITE, i, 0, 1 << 20);
            writer
                .write_all(&vec![i as u8 + 1; 1 << 20])
                .expect("payload");
        }
        for i in 80..380u64 {
            request(&mut writer, 0, READ, i, (i % 200) * 4096, 4096);
        }
    });
    let mut seen = vec![false; 380];
    for _ in 0..380 {
        let (error, handle) = reply(&mut s);
        assert_eq!(error, 0);
        if handle >= 80 {
            read_n(&mut s, 4096);
        }
        assert!(
            !std::mem::replace(&mut seen[handle as usize], true),
            "handle {handle} answered twice"
        );
    }
    sender.join().expect("sender");
    let first = lock(&device.data)[0];
    assert!((1..=80).contains(&first) && lock(&device.data).iter().all(|&b| b == first));
}

#[test]
fn the_handshake_deadline_and_the_connection_cap_hold() {
    let (addr, _) = start(|e| e.handshake_timeout = Duration::from_millis(300));
    let start_time = Instant::now();
    assert_closed(greet(addr, 3), "idle handshake");
    assert!(start_time.elapsed() < Duration::from_secs(3));
    // A connection in transmission is not subject to the deadline.
    let mut s = transmission(addr);
    std::thread::sleep(Duration::from_millis(500));
    request(&mut s, 0, READ, 1, 0, 1);
    assert_eq!(reply(&mut s), (0, 1));

    let (addr, _) = start(|e| e.max_connections = 2);
    let (a, b) = (transmission(addr), transmission(addr));
    assert_closed(connect(addr), "a connection over the cap");
    drop((a, b));
    // The slots free up once the server has seen both connections close.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut s = connect(addr);
        let mut g = [0u8; 18];
        if s.read_exact(&mut g).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the connection slots were never released"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_qemu_io_works(addr);
}
