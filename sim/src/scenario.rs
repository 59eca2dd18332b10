//! What one trial is: architecture, platform, service, failure.

use core::fmt;

use serde::{Deserialize, Serialize};

/// The study's three architectures: the model's, one name for the concept everywhere.
pub use model::topology::Architecture;

/// The two virtualization platforms: the model's, one name for the concept everywhere.
pub use model::topology::Platform;

/// The services under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// Apache, probed like ApacheBench.
    Apache,
    /// MySQL, probed like tpcc-mysql.
    Mysql,
}

/// The study's failure experiments: the model's, one name for the concept everywhere.
pub use model::topology::FailureClass;

impl Service {
    /// All.
    pub const ALL: [Service; 2] = [Service::Apache, Service::Mysql];
    /// The key used in files.
    pub fn key(self) -> &'static str {
        match self {
            Service::Apache => "apache",
            Service::Mysql => "mysql",
        }
    }
    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            Service::Apache => "Apache",
            Service::Mysql => "MySQL",
        }
    }
}

/// One cell of the study: the trials of one combination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Cell {
    /// Failure.
    pub failure: FailureClass,
    /// Architecture.
    pub architecture: Architecture,
    /// Platform.
    pub platform: Platform,
    /// Service.
    pub service: Service,
}

impl Cell {
    /// Every cell of the study, in a fixed order.
    pub fn all() -> Vec<Cell> {
        let mut cells = Vec::new();
        for failure in FailureClass::ALL {
            for architecture in Architecture::ALL {
                for platform in Platform::ALL {
                    for service in Service::ALL {
                        cells.push(Cell {
                            failure,
                            architecture,
                            platform,
                            service,
                        });
                    }
                }
            }
        }
        cells
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failure / {} / {} / {}",
            self.failure.key(),
            self.architecture.label(),
            self.platform.label(),
            self.service.label()
        )
    }
}
