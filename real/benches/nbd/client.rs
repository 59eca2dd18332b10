//! The clients: `qemu-img bench` runs and a minimal NBD client of this bench's own.

use super::*;

// ---------------------------------------------------------------------------------------
// qemu-img bench.

#[derive(Clone, Copy, Debug)]
pub(crate) struct Op {
    pub(crate) label: &'static str,
    pub(crate) size: u32,
    pub(crate) write: bool,
    pub(crate) fua: bool,
}

pub(crate) const OPS: [Op; 6] = [
    Op {
        label: "4k write FUA",
        size: 4096,
        write: true,
        fua: true,
    },
    Op {
        label: "4k write",
        size: 4096,
        write: true,
        fua: false,
    },
    Op {
        label: "4k read",
        size: 4096,
        write: false,
        fua: false,
    },
    Op {
        label: "64k write FUA",
        size: 65536,
        write: true,
        fua: true,
    },
    Op {
        label: "64k write",
        size: 65536,
        write: true,
        fua: false,
    },
    Op {
        label: "64k read",
        size: 65536,
        write: false,
        fua: false,
    },
];

pub(crate) fn qemu_img_args(url: &str, op: Op, count: u64, pattern: u8) -> Vec<String> {
    let mut a: Vec<String> = [
        "bench",
        "-f",
        "raw",
        "-d",
        &DEPTH.to_string(),
        "-s",
        &op.size.to_string(),
        "-c",
        &count.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if op.write {
        a.push("-w".into());
        a.push(format!("--pattern={pattern}"));
        a.push("-t".into());
        a.push(if op.fua { "writethrough" } else { "writeback" }.into());
    }
    a.push(url.to_string());
    a
}

/// Runs qemu-img bench: the seconds it reports and the CPU ticks it used.
pub(crate) fn qemu_bench(url: &str, op: Op, count: u64, pattern: u8) -> (f64, u64) {
    let args = qemu_img_args(url, op, count, pattern);
    let before = children_ticks();
    let out = Command::new("qemu-img")
        .args(&args)
        .output()
        .expect("run qemu-img (package qemu-utils)");
    let ticks = children_ticks().saturating_sub(before);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "qemu-img {}: {}{stdout}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let secs = stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("Run completed in ")?
                .strip_suffix(" seconds.")?
                .parse::<f64>()
                .ok()
        })
        .unwrap_or_else(|| panic!("qemu-img {}: unexpected output {stdout}", args.join(" ")));
    (secs.max(0.001), ticks)
}

// ---------------------------------------------------------------------------------------
// A minimal NBD client (fixed newstyle, NBD_OPT_GO, simple replies), constants from the
// NBD protocol specification (doc/proto.md), independent of the server's own code.

pub(crate) const NBDMAGIC: u64 = 0x4e42_444d_4147_4943; // "NBDMAGIC"
pub(crate) const IHAVEOPT: u64 = 0x4948_4156_454f_5054; // "IHAVEOPT"
pub(crate) const FLAG_FIXED_NEWSTYLE: u16 = 1 << 0;
pub(crate) const FLAG_NO_ZEROES: u16 = 1 << 1;
pub(crate) const FLAG_C_FIXED_NEWSTYLE: u32 = 1 << 0;
pub(crate) const FLAG_C_NO_ZEROES: u32 = 1 << 1;
pub(crate) const OPT_GO: u32 = 7;
pub(crate) const OPT_REPLY_MAGIC: u64 = 0x0003_e889_0455_65a9;
pub(crate) const REP_ACK: u32 = 1;
pub(crate) const REP_INFO: u32 = 3;
pub(crate) const REP_FLAG_ERROR: u32 = 1 << 31;
pub(crate) const INFO_EXPORT: u16 = 0;
pub(crate) const TFLAG_SEND_FUA: u16 = 1 << 3;
pub(crate) const REQUEST_MAGIC: u32 = 0x2560_9513;
pub(crate) const SIMPLE_REPLY_MAGIC: u32 = 0x6744_6698;
pub(crate) const CMD_READ: u16 = 0;
pub(crate) const CMD_WRITE: u16 = 1;
pub(crate) const CMD_DISC: u16 = 2;
pub(crate) const CMD_FLAG_FUA: u16 = 1 << 0;

pub(crate) struct NbdClient {
    pub(crate) s: TcpStream,
    pub(crate) size: u64,
    pub(crate) next_handle: u64,
}

pub(crate) fn be_u16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}
pub(crate) fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}
pub(crate) fn be_u64(b: &[u8]) -> u64 {
    u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}
pub(crate) fn bad(what: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what)
}

impl NbdClient {
    /// Connects and negotiates `export` with `NBD_OPT_GO` (no info requests).
    pub(crate) fn connect(
        at: SocketAddr,
        export: &str,
        timeout: Duration,
    ) -> std::io::Result<NbdClient> {
        let mut s = TcpStream::connect_timeout(&at, timeout)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        let mut greeting = [0u8; 18];
        s.read_exact(&mut greeting)?;
        if be_u64(&greeting[0..8]) != NBDMAGIC || be_u64(&greeting[8..16]) != IHAVEOPT {
            return Err(bad(format!("not a newstyle NBD server: {greeting:02x?}")));
        }
        let hflags = be_u16(&greeting[16..18]);
        if hflags & FLAG_FIXED_NEWSTYLE == 0 {
            return Err(bad(format!("server is not fixed newstyle ({hflags:#x})")));
        }
        let mut cflags = FLAG_C_FIXED_NEWSTYLE;
        if hflags & FLAG_NO_ZEROES != 0 {
            cflags |= FLAG_C_NO_ZEROES;
        }
        let mut msg = Vec::with_capacity(64);
        msg.extend_from_slice(&cflags.to_be_bytes());
        msg.extend_from_slice(&IHAVEOPT.to_be_bytes());
        msg.extend_from_slice(&OPT_GO.to_be_bytes());
        msg.extend_from_slice(&(4 + export.len() as u32 + 2).to_be_bytes());
        msg.extend_from_slice(&(export.len() as u32).to_be_bytes());
        msg.extend_from_slice(export.as_bytes());
        msg.extend_from_slice(&0u16.to_be_bytes());
        s.write_all(&msg)?;
        let mut size = None;
        loop {
            let mut h = [0u8; 20];
            s.read_exact(&mut h)?;
            let (magic, option, kind, len) = (
                be_u64(&h[0..8]),
                be_u32(&h[8..12]),
                be_u32(&h[12..16]),
                be_u32(&h[16..20]),
            );
            if magic != OPT_REPLY_MAGIC || option != OPT_GO || len > 64 << 10 {
                return Err(bad(format!(
                    "bad option reply {magic:#x} {option} {kind:#x} {len}"
                )));
            }
            let mut data = vec![0u8; len as usize];
            s.read_exact(&mut data)?;
            match kind {
                REP_ACK => break,
                REP_INFO if data.len() >= 12 && be_u16(&data[0..2]) == INFO_EXPORT => {
                    let tflags = be_u16(&data[10..12]);
                    if tflags & TFLAG_SEND_FUA == 0 {
                        return Err(bad("the export does not take FUA".into()));
                    }
                    size = Some(be_u64(&data[2..10]));
                }
                k if k & REP_FLAG_ERROR != 0 => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionRefused,
                        format!(
                            "NBD_OPT_GO refused ({k:#x}): {}",
                            String::from_utf8_lossy(&data)
                        ),
                    ));
                }
                _ => {}
            }
        }
        let size = size.ok_or_else(|| bad("no NBD_INFO_EXPORT before the ack".into()))?;
        Ok(NbdClient {
            s,
            size,
            next_handle: 1,
        })
    }

    pub(crate) fn request(
        &mut self,
        cmd: u16,
        flags: u16,
        offset: u64,
        len: u32,
        data: &[u8],
    ) -> std::io::Result<u64> {
        let handle = self.next_handle;
        self.next_handle += 1;
        let mut msg = Vec::with_capacity(28 + data.len());
        msg.extend_from_slice(&REQUEST_MAGIC.to_be_bytes());
        msg.extend_from_slice(&flags.to_be_bytes());
        msg.extend_from_slice(&cmd.to_be_bytes());
        msg.extend_from_slice(&handle.to_be_bytes());
        msg.extend_from_slice(&offset.to_be_bytes());
        msg.extend_from_slice(&len.to_be_bytes());
        msg.extend_from_slice(data);
        // One write per request: header and payload in one segment.
        self.s.write_all(&msg)?;
        Ok(handle)
    }

    pub(crate) fn reply(&mut self, handle: u64) -> std::io::Result<()> {
        let mut r = [0u8; 16];
        self.s.read_exact(&mut r)?;
        let (magic, error, h) = (be_u32(&r[0..4]), be_u32(&r[4..8]), be_u64(&r[8..16]));
        if magic != SIMPLE_REPLY_MAGIC || h != handle {
            return Err(bad(format!(
                "bad reply {magic:#x} handle {h} (want {handle})"
            )));
        }
        if error != 0 {
            return Err(bad(format!("NBD error {error}")));
        }
        Ok(())
    }

    pub(crate) fn write_fua(&mut self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let h = self.request(CMD_WRITE, CMD_FLAG_FUA, offset, data.len() as u32, data)?;
        self.reply(h)
    }

    pub(crate) fn read(&mut self, offset: u64, len: u32) -> std::io::Result<Vec<u8>> {
        let h = self.request(CMD_READ, 0, offset, len, &[])?;
        self.reply(h)?;
        let mut data = vec![0u8; len as usize];
        self.s.read_exact(&mut data)?;
        Ok(data)
    }
}

impl Drop for NbdClient {
    fn drop(&mut self) {
        let mut msg = Vec::with_capacity(28);
        msg.extend_from_slice(&REQUEST_MAGIC.to_be_bytes());
        msg.extend_from_slice(&0u16.to_be_bytes());
        msg.extend_from_slice(&CMD_DISC.to_be_bytes());
        msg.extend_from_slice(&[0u8; 20]);
        let _ = self.s.write_all(&msg);
    }
}
