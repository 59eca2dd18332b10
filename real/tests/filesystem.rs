//! A real file system on the replicated disk: ext4 over `nbdfuse` + a loop device on
//! the Primary, power loss of the Primary, and the same file system mounted on the
//! survivor after the journal replay, every synced byte intact.
//!
//! Needs root (loop devices, mount) and /dev/fuse; CI runs as root. Run by hand without
//! root, the test says so and does nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{FAST_TIMERS, Lab, LabOptions, eventually};

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The export as a file (nbdfuse), a loop device on it, and a mount point; torn down in
/// reverse order on drop, also when the test fails.
struct Mounted {
    fuse: PathBuf,
    nbdfuse: Child,
    loop_dev: Option<String>,
    mount: Option<PathBuf>,
}

impl Mounted {
    fn attach(fuse: &Path, url: &str) -> Mounted {
        std::fs::create_dir_all(fuse).expect("fuse dir");
        let nbdfuse = Command::new("nbdfuse")
            .arg(fuse)
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nbdfuse (package libnbd-bin) runs");
        let mut m = Mounted {
            fuse: fuse.to_path_buf(),
            nbdfuse,
            loop_dev: None,
            mount: None,
        };
        assert!(
            eventually(Duration::from_secs(10), || fuse.join("nbd").exists()),
            "nbdfuse exposed the export"
        );
        let dev = run(
            "losetup",
            &["-f", "--show", &fuse.join("nbd").to_string_lossy()],
        );
        m.loop_dev = Some(dev);
        m
    }

    fn dev(&self) -> &str {
        self.loop_dev.as_deref().expect("attached")
    }

    fn mount(&mut self, at: &Path) {
        std::fs::create_dir_all(at).expect("mount point");
        run("mount", &[self.dev(), &at.to_string_lossy()]);
        self.mount = Some(at.to_path_buf());
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Some(m) = self.mount.take() {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
        if let Some(d) = self.loop_dev.take() {
            let _ = Command::new("losetup").args(["-d", &d]).status();
        }
        let _ = Command::new("umount").arg("-l").arg(&self.fuse).status();
        let _ = self.nbdfuse.kill();
        let _ = self.nbdfuse.wait();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

#[test]
fn ext4_on_the_replicated_disk_survives_power_loss_of_the_primary() {
    if !is_root() || !Path::new("/dev/fuse").exists() {
        eprintln!("SKIPPED: needs root and /dev/fuse (CI has both)");
        return;
    }
    let mut lab = Lab::new(
        "ext4",
        LabOptions {
            extra: [FAST_TIMERS.to_string(), FAST_TIMERS.to_string()],
            ..LabOptions::default()
        },
    );
    lab.start_synced();
    let fs = lab.dir.join("fs");
    {
        let mut m = Mounted::attach(&lab.dir.join("fuse-alpha"), &lab.a.nbd_url());
        run("mkfs.ext4", &["-q", m.dev()]);
        m.mount(&fs);
        std::fs::write(fs.join("hello.txt"), "written on alpha\n").expect("write a file");
        let blob: Vec<u8> = (0..4u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        std::fs::write(fs.join("blob"), &blob).expect("write 4 MiB");
        run("sync", &[]);
        // Power loss of the Primary with the file system still mounted.
        lab.a.kill9();
    }
    lab.b
        .wait_for("Primary", Duration::from_secs(20), |s| s.role == "Primary");
    let mut m = Mounted::attach(&lab.dir.join("fuse-bravo"), &lab.b.nbd_url());
    // The journal is replayed (an unclean file system, as after any power loss); e2fsck
    // exits 0 or 1 (errors corrected), never 4 (left uncorrected).
    let fsck = Command::new("e2fsck")
        .args(["-fy", m.dev()])
        .output()
        .expect("e2fsck");
    assert!(
        matches!(fsck.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    m.mount(&fs);
    assert_eq!(
        std::fs::read_to_string(fs.join("hello.txt")).expect("file"),
        "written on alpha\n"
    );
    let blob: Vec<u8> = (0..4u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    assert!(
        std::fs::read(fs.join("blob")).expect("blob") == blob,
        "every synced byte is on the survivor"
    );
}
