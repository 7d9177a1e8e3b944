//! Processes a lab starts: killed by PID when their guard is dropped.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::LabError;

pub struct Process {
    child: Child,
}

impl Process {
    /// Starts `command`, its output appended to `log`.
    pub fn spawn(command: &mut Command, log: &std::path::Path) -> Result<Process, LabError> {
        let file = std::fs::File::create(log)
            .map_err(|source| LabError::Io { what: format!("creating {}", log.display()), source })?;
        let err = file.try_clone().map_err(|source| LabError::Io { what: "log file".into(), source })?;
        let child = command
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|source| LabError::Spawn { command: format!("{command:?}"), source })?;
        Ok(Process { child })
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `signal` (e.g. "TERM") and waits up to `grace` for the exit.
    pub fn stop(&mut self, signal: &str, grace: Duration) -> Option<std::process::ExitStatus> {
        self.signal(signal);
        self.wait(grace)
    }

    /// Sends `signal` (e.g. "TERM").
    pub fn signal(&self, signal: &str) {
        let _ = Command::new("kill").arg(format!("-{signal}")).arg(self.child.id().to_string()).status();
    }

    /// Waits up to `grace` for the exit.
    pub fn wait(&mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.running() && self.stop("TERM", Duration::from_secs(3)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
