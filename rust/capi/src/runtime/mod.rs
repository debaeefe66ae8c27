//! The client runtime shared by every library.
