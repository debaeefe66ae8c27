//! The C ABI types; cbindgen generates include/corosync/ from here.
