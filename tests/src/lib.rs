//! The workspace's end-to-end tests (in `tests/`): the suite's real binaries run as an admin
//! would run them, from the README's commands to clusters of pulse, lvsd, nanny and fos
//! processes in network namespaces. Their helpers (binaries, namespaces, the two-director
//! LAN) are in `testkit`; `testkit::bins` builds the binaries these tests run, so
//! `cargo test -p e2e` works on its own.
