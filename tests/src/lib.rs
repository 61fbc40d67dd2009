//! Helpers for the workspace end-to-end tests (see tests/).
