//! nanny's integration tests: real and hostile servers in network namespaces, signals,
//! standalone IPVS mode, and one run against the real kernel's IPVS in the qemu VM.

mod common;
mod hostile;
mod servers;
mod signals;
mod standalone;
mod vm;
