//! A LazyFS mount (`shared/tools/lazyfs`): a FUSE file system that keeps every write in its own
//! page cache until `fsync`/`fdatasync`, and on `lazyfs::clear-cache` drops whatever was never
//! synced, as a power loss would. A SIGKILL cannot show a missing fsync (the kernel keeps the
//! dead process's writes); this can.
//!
//! `.ci/run` builds LazyFS into `target/lazyfs/` (`BAZAAR_LAZYFS` names another binary). Where
//! it is missing, a power-loss test fails under CI (`CI` set) and is skipped with a loud line
//! elsewhere: building it needs root, apt and `/dev/fuse`.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::server::root;

/// How long LazyFS may take to mount, drop its cache or unmount.
const SETTLES: Duration = Duration::from_secs(30);

/// A mounted LazyFS over a backing directory of its own; unmounted when dropped.
pub struct LazyFs {
    bin: PathBuf,
    /// Holds the backing directory (`root/`), the mount point (`mnt/`), the config and FIFOs.
    dir: tempfile::TempDir,
    daemon: Option<Child>,
    /// The "completed" FIFO, held open for reading: LazyFS's fault worker waits for a reader,
    /// and writes `finished::clear-cache` to it when a power cut is done.
    completed: Option<File>,
}

impl LazyFs {
    /// The LazyFS binary, or `None` (after saying so) where this machine has none and the
    /// run is not CI's.
    pub fn binary() -> Option<PathBuf> {
        let bin = std::env::var_os("BAZAAR_LAZYFS")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("target/lazyfs/lazyfs"));
        if bin.exists() {
            return Some(bin);
        }
        let how = "build it with `shared/tools/lazyfs/build.sh target/lazyfs` (as .ci/run does)";
        assert!(std::env::var_os("CI").is_none(), "LazyFS is missing at {}: {how}", bin.display());
        eprintln!("\n*** SKIPPED: power-loss test, no LazyFS at {}; {how} ***\n", bin.display());
        None
    }

    /// Mounts a fresh LazyFS; its files are under [`LazyFs::path`].
    pub fn mount(bin: &Path) -> LazyFs {
        // LazyFS ignores a config path containing "-o"; tempfile's names never have a dash.
        let dir = tempfile::Builder::new().prefix("lazyfs").tempdir().unwrap();
        for sub in ["root", "mnt"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let d = dir.path().display();
        let config = format!(
            "[faults]\nfifo_path=\"{d}/faults.fifo\"\nfifo_path_completed=\"{d}/done.fifo\"\n\
             [cache]\napply_eviction=false\n[cache.simple]\ncustom_size=\"1gb\"\nblocks_per_page=1\n\
             [filesystem]\nlog_all_operations=false\nlogfile=\"{d}/lazyfs.log\"\n"
        );
        std::fs::write(dir.path().join("conf.toml"), config).unwrap();
        let mut fs = LazyFs { bin: bin.to_path_buf(), dir, daemon: None, completed: None };
        fs.start();
        fs
    }

    /// Where the file system is mounted.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("mnt")
    }

    /// A power loss: everything written and never synced is gone. Whoever wrote through the
    /// mount must be dead already (a SIGKILLed server); the file system is then remounted,
    /// with only what was synced.
    pub fn power_cut(&mut self) {
        std::fs::write(self.dir.path().join("faults.fifo"), "lazyfs::clear-cache\n").unwrap();
        self.wait_completed("finished::clear-cache");
        self.unmount();
        self.start();
    }

    fn start(&mut self) {
        let d = self.dir.path();
        let daemon = Command::new(&self.bin)
            .arg(d.join("mnt"))
            .arg("--config-path")
            .arg(d.join("conf.toml"))
            .args(["-o", "allow_other", "-o", "modules=subdir", "-o"])
            .arg(format!("subdir={}", d.join("root").display()))
            .arg("-f")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("lazyfs starts");
        self.daemon = Some(daemon);
        let done = d.join("done.fifo");
        eventually(&format!("{} is created", done.display()), || done.exists());
        let completed = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&done)
            .unwrap();
        self.completed = Some(completed);
        eventually("lazyfs is mounted", || self.mounted());
    }

    fn mounted(&self) -> bool {
        let status = Command::new("mountpoint").arg("-q").arg(self.path()).status();
        status.map(|status| status.success()).unwrap_or(false)
    }

    /// Reads the "completed" FIFO until `line` has arrived.
    fn wait_completed(&mut self, line: &str) {
        let fifo = self.completed.as_mut().expect("lazyfs is running");
        let (mut seen, mut buf) = (String::new(), [0u8; 256]);
        let deadline = Instant::now() + SETTLES;
        while !seen.contains(line) {
            match fifo.read(&mut buf) {
                Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(error) if error.kind() == ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "lazyfs never reported {line:?}");
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(error) => panic!("reading lazyfs's completed FIFO: {error}"),
            }
        }
    }

    fn unmount(&mut self) {
        let mnt = self.path();
        let _ = Command::new("fusermount3").arg("-u").arg(&mnt).status();
        if let Some(mut daemon) = self.daemon.take() {
            let deadline = Instant::now() + SETTLES;
            while daemon.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = Command::new("fusermount3").arg("-u").arg("-z").arg(&mnt).status();
                    let _ = daemon.kill();
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.completed = None;
    }
}

impl Drop for LazyFs {
    fn drop(&mut self) {
        self.unmount();
    }
}

fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + SETTLES;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {SETTLES:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
