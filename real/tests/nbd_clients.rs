//! The NBD server driven by real clients as subprocesses: qemu-io and qemu-img
//! (qemu-utils) and nbdinfo / nbdcopy (libnbd-bin). Each test starts its own server on
//! 127.0.0.1 port 0 over an in-memory device and checks the device's bytes directly.

use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use real::nbd::{BlockDevice, NbdError, NbdExport, serve};

/// What reached the device (reads are not recorded).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Write { offset: u64, len: usize, fua: bool },
    Flush,
    Trim { offset: u64, len: u32 },
}

/// An in-memory device with a switch to make it unavailable, a log of operations and
/// the highest number of calls seen running at once.
#[derive(Clone, Default)]
struct MemDevice {
    data: Arc<Mutex<Vec<u8>>>,
    unavailable: Arc<Mutex<Option<String>>>,
    ops: Arc<Mutex<Vec<Op>>>,
    running: Arc<AtomicUsize>,
    max_running: Arc<AtomicUsize>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemDevice {
    fn new(size: usize) -> Self {
        MemDevice {
            data: Arc::new(Mutex::new(vec![0; size])),
            ..MemDevice::default()
        }
    }
    fn bytes(&self, offset: usize, len: usize) -> Vec<u8> {
        lock(&self.data)[offset..offset + len].to_vec()
    }
    fn ops(&self) -> Vec<Op> {
        lock(&self.ops).clone()
    }
    fn set_unavailable(&self, reason: Option<&str>) {
        *lock(&self.unavailable) = reason.map(str::to_owned);
    }
    /// Counts the call as running across one yield, so that concurrent requests overlap.
    async fn enter(&self) {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        tokio::task::yield_now().await;
        self.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl BlockDevice for MemDevice {
    fn size(&self) -> u64 {
        lock(&self.data).len() as u64
    }
    fn unavailable(&self) -> Option<String> {
        lock(&self.unavailable).clone()
    }
    async fn read(&self, offset: u64, len: u32) -> Result<Vec<u8>, NbdError> {
        self.enter().await;
        let (start, end) = (offset as usize, offset as usize + len as usize);
        lock(&self.data)
            .get(start..end)
            .map(<[u8]>::to_vec)
            .ok_or(NbdError::Inval)
    }
    async fn write(&self, offset: u64, data: Vec<u8>, fua: bool) -> Result<(), NbdError> {
        self.enter().await;
        let start = offset as usize;
        lock(&self.data)
            .get_mut(start..start + data.len())
            .ok_or(NbdError::NoSpc)?
            .copy_from_slice(&data);
        lock(&self.ops).push(Op::Write {
            offset,
            len: data.len(),
            fua,
        });
        Ok(())
    }
    async fn flush(&self) -> Result<(), NbdError> {
        self.enter().await;
        lock(&self.ops).push(Op::Flush);
        Ok(())
    }
    async fn trim(&self, offset: u64, len: u32) -> Result<(), NbdError> {
        self.enter().await;
        let start = offset as usize;
        lock(&self.data)
            .get_mut(start..start + len as usize)
            .ok_or(NbdError::Inval)?
            .fill(0);
        lock(&self.ops).push(Op::Trim { offset, len });
        Ok(())
    }
}

/// A server on a background thread with its own single-threaded runtime.
struct Server {
    addr: SocketAddr,
    device: MemDevice,
}

impl Server {
    fn start(name: &str, size: usize) -> Server {
        let device = MemDevice::new(size);
        let export = NbdExport {
            description: "dualha test export".to_owned(),
            ..NbdExport::new(name, device.clone())
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                serve(listener, export).await
            })
        });
        Server { addr, device }
    }
    fn url(&self, name: &str) -> String {
        format!("nbd://{}/{name}", self.addr)
    }
}

/// Runs a client with a deadline, so a hung server fails the test instead of hanging it.
fn run(program: &str, args: &[&str]) -> Output {
    run_env(program, args, &[])
}

/// [`run`] with extra environment variables.
fn run_env(program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let hint = match program {
        "qemu-io" | "qemu-img" => "install qemu-utils",
        _ => "install libnbd-bin",
    };
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} ({hint}): {e}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{program} {args:?} did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// qemu-io with the given commands; asserts that it and every command succeeded.
fn qemu_io_ok(url: &str, commands: &[&str]) -> String {
    let out = qemu_io(url, commands);
    let all = text(&out);
    assert!(out.status.success(), "qemu-io {commands:?} failed: {all}");
    assert!(
        !all.contains("failed") && !all.contains("error"),
        "qemu-io {commands:?}: {all}"
    );
    all
}

fn qemu_io(url: &str, commands: &[&str]) -> Output {
    // Writeback: qemu-io's default (writethrough) sets FUA on every write.
    let mut args = vec!["-f", "raw", "-t", "writeback", url];
    for c in commands {
        args.extend(["-c", c]);
    }
    run("qemu-io", &args)
}

#[test]
fn qemu_io_writes_and_reads_a_pattern() {
    let server = Server::start("disk", 1 << 20);
    let url = server.url("disk");
    qemu_io_ok(&url, &["write -P 0xab 0 64k", "read -P 0xab 0 64k"]);
    assert!(server.device.bytes(0, 64 << 10).iter().all(|&b| b == 0xab));
    assert!(server.device.bytes(64 << 10, 4096).iter().all(|&b| b == 0));
    // A read that disagrees with the device must fail: the check above can fail too.
    let out = qemu_io(&url, &["read -P 0xcd 0 4k"]);
    assert!(
        text(&out).contains("Pattern verification failed"),
        "{}",
        text(&out)
    );
}

#[test]
fn unaligned_requests_touch_exactly_their_bytes() {
    let server = Server::start("disk", 1 << 20);
    let url = server.url("disk");
    qemu_io_ok(
        &url,
        &[
            "write -P 0x11 513 1000",
            "read -P 0x11 513 1000",
            "read -P 0 0 513",
            "read -P 0 1513 100",
            "write -P 0x22 1048575 1",
        ],
    );
    let bytes = server.device.bytes(0, 2048);
    assert!(bytes[..513].iter().all(|&b| b == 0));
    assert!(bytes[513..1513].iter().all(|&b| b == 0x11));
    assert!(bytes[1513..].iter().all(|&b| b == 0));
    assert_eq!(server.device.bytes((1 << 20) - 1, 1), vec![0x22]);
    let ops = server.device.ops();
    assert!(
        ops.contains(&Op::Write {
            offset: 513,
            len: 1000,
            fua: false
        }),
        "{ops:?}"
    );
}

#[test]
fn fua_flush_discard_and_write_zeroes_reach_the_device() {
    let server = Server::start("disk", 1 << 20);
    let url = server.url("disk");
    qemu_io_ok(
        &url,
        &[
            "write -f -P 0x22 4096 4096",
            "flush",
            "write -P 0x33 65536 65536",
        ],
    );
    let ops = server.device.ops();
    assert!(
        ops.contains(&Op::Write {
            offset: 4096,
            len: 4096,
            fua: true
        }),
        "{ops:?}"
    );
    assert!(ops.contains(&Op::Flush), "{ops:?}");
    assert!(server.device.bytes(4096, 4096).iter().all(|&b| b == 0x22));

    qemu_io_ok(
        &url,
        &[
            "discard 65536 65536",
            "write -P 0x44 0 4096",
            "write -z 1024 2048",
        ],
    );
    let ops = server.device.ops();
    assert!(
        ops.contains(&Op::Trim {
            offset: 65536,
            len: 65536
        }),
        "{ops:?}"
    );
    let head = server.device.bytes(0, 4096);
    assert!(head[..1024].iter().all(|&b| b == 0x44));
    assert!(head[1024..3072].iter().all(|&b| b == 0));
    assert!(head[3072..].iter().all(|&b| b == 0x44));
    qemu_io_ok(
        &url,
        &[
            "read -P 0x44 0 1024",
            "read -P 0 1024 2048",
            "read -P 0x44 3072 1024",
        ],
    );
}

#[test]
fn qemu_img_info_shows_the_size_and_the_default_export_works() {
    let server = Server::start("disk", 3 << 20);
    let out = run("qemu-img", &["info", "--output=json", &server.url("disk")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(r#""virtual-size": 3145728"#),
        "{}",
        text(&out)
    );
    // The empty name is the default export.
    let default = format!("nbd://{}", server.addr);
    qemu_io_ok(&default, &["write -P 0x5c 0 512"]);
    assert_eq!(server.device.bytes(0, 512), vec![0x5c; 512]);
}

#[test]
fn an_unavailable_device_fails_with_its_reason_until_available() {
    let server = Server::start("disk", 1 << 20);
    let url = server.url("disk");
    server
        .device
        .set_unavailable(Some("this node is Secondary"));
    let out = qemu_io(&url, &["write -P 0x01 0 512"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("this node is Secondary"),
        "{}",
        text(&out)
    );
    assert!(server.device.bytes(0, 512).iter().all(|&b| b == 0));
    // Availability is checked per connection: after a failover the same server serves.
    server.device.set_unavailable(None);
    qemu_io_ok(&url, &["write -P 0x01 0 512"]);
    assert_eq!(server.device.bytes(0, 512), vec![1; 512]);
}

#[test]
fn a_wrong_export_name_fails() {
    let server = Server::start("disk", 1 << 20);
    let out = qemu_io(&server.url("other"), &["read 0 512"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("unknown export"), "{}", text(&out));
    qemu_io_ok(&server.url("disk"), &["read 0 512"]);
}

#[test]
fn qemu_img_bench_pipelines_requests() {
    let server = Server::start("disk", 8 << 20);
    let url = server.url("disk");
    let args = [
        "bench",
        "-f",
        "raw",
        "-c",
        "4000",
        "-d",
        "32",
        "-s",
        "4k",
        "-w",
        "--pattern=0x5a",
    ];
    let out = run(
        "qemu-img",
        &[&args[..], &["--flush-interval=1000", &url]].concat(),
    );
    assert!(out.status.success(), "{}", text(&out));
    // 4000 sequential 4 KiB writes from offset 0 cover the whole 8 MiB (2048 blocks).
    assert!(server.device.bytes(0, 8 << 20).iter().all(|&b| b == 0x5a));
    assert!(server.device.ops().contains(&Op::Flush));
    let out = run(
        "qemu-img",
        &[
            "bench", "-f", "raw", "-c", "4000", "-d", "32", "-s", "4k", &url,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let overlap = server.device.max_running.load(Ordering::SeqCst);
    assert!(
        overlap > 1,
        "requests never ran concurrently (at most {overlap} at once)"
    );
}

#[test]
fn nbdcopy_round_trips_an_image() {
    let server = Server::start("disk", 4 << 20);
    let dir = std::env::temp_dir().join(format!("dualha-nbdcopy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (src, dst) = (dir.join("in.img"), dir.join("out.img"));
    let image: Vec<u8> = (0..4u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&src, &image).expect("write image");
    let url = server.url("disk");
    let out = run("nbdcopy", &[src.to_str().expect("utf-8"), &url]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        server.device.bytes(0, 4 << 20) == image,
        "device differs from the copied image"
    );
    let out = run("nbdcopy", &[&url, dst.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        std::fs::read(&dst).expect("read copy") == image,
        "copy differs from the device"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn nbdinfo_lists_the_export_and_reads_its_info() {
    let server = Server::start("disk", 2 << 20);
    let base = format!("nbd://{}", server.addr);
    // NBD_OPT_LIST, then NBD_OPT_INFO on each export listed.
    let out = run("nbdinfo", &["--list", "--json", &base]);
    let listed = text(&out);
    assert!(out.status.success(), "{listed}");
    assert!(listed.contains(r#""export-name": "disk""#), "{listed}");
    assert!(listed.contains("dualha test export"), "{listed}");
    assert!(listed.contains(r#""export-size": 2097152"#), "{listed}");
    // NBD_OPT_GO with NBD_INFO_BLOCK_SIZE and the transmission flags.
    let out = run("nbdinfo", &["--json", &server.url("disk")]);
    let info = text(&out);
    assert!(out.status.success(), "{info}");
    for expected in [
        r#""block_size_minimum": 1"#,
        r#""block_size_preferred": 4096"#,
        r#""block_size_maximum": 33554432"#,
        r#""can_flush": true"#,
        r#""can_fua": true"#,
        r#""can_trim": true"#,
        r#""can_zero": true"#,
        r#""can_multi_conn": false"#,
        r#""is_read_only": false"#,
    ] {
        assert!(info.contains(expected), "missing {expected} in {info}");
    }
    // An unavailable device: the list fails with the reason (which libnbd shows only
    // in its debug output).
    server
        .device
        .set_unavailable(Some("this node is Secondary"));
    let out = run_env("nbdinfo", &["--list", &base], &[("LIBNBD_DEBUG", "1")]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("this node is Secondary"),
        "{}",
        text(&out)
    );
    let out = run_env("nbdinfo", &[&server.url("disk")], &[("LIBNBD_DEBUG", "1")]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("this node is Secondary"),
        "{}",
        text(&out)
    );
}
