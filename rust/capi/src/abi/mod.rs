//! The C ABI: the Rust definitions cbindgen turns into the headers in
//! `include/corosync/`, one Rust file per header.
//!
//! Owns: every type, constant and enum of the public headers, with the
//! spec's names, values and layout; the exported functions; and every
//! conversion between C and Rust: the raw C integers to the Rust enums,
//! pointers to references and slices ([`convert`]), the C structs to the
//! service modules' Rust types and back, the application's C callbacks
//! to Rust closures. Must not: hold service logic. An exported function
//! runs inside [`boundary!`](crate::boundary!), reads its arguments,
//! calls the service module, and writes the results back; see
//! `rust/capi/README.md`, "Adding a library function".
//!
//! Besides one file per header: [`convert`] (what every header's
//! functions use) and [`group_api`] (what `evs.h` and `cpg.h` share).
//!
//! # One header = one file + one config + one line
//!
//! | header | Rust file | cbindgen config |
//! |---|---|---|
//! | `saAis.h` | `abi/sa_ais.rs` | `cbindgen/saAis.toml` |
//! | `saClm.h` | `abi/sa_clm.rs` | `cbindgen/saClm.toml` |
//! | `saCkpt.h` | `abi/sa_ckpt.rs` | `cbindgen/saCkpt.toml` |
//! | `saEvt.h` | `abi/sa_evt.rs` | `cbindgen/saEvt.toml` |
//! | `saAmf.h` | `abi/sa_amf.rs` | `cbindgen/saAmf.toml` |
//! | `saLck.h` | `abi/sa_lck.rs` | `cbindgen/saLck.toml` |
//! | `saMsg.h` | `abi/sa_msg.rs` | `cbindgen/saMsg.toml` |
//! | `evs.h` | `abi/evs.rs` | `cbindgen/evs.toml` |
//! | `cpg.h` | `abi/cpg.rs` | `cbindgen/cpg.toml` |
//! | `ais_amf.h` | `abi/ais_amf.rs` | none: written by hand (see `rust/capi/README.md`, "AMF A.01.01") |
//!
//! `rust/capi/headers.list` names each header and its Rust file;
//! `scripts/gen-headers.sh` runs cbindgen 0.29.2 on that file alone
//! (single-file mode: cbindgen sees nothing else of the crate), with
//! `cbindgen/common.toml` followed by `cbindgen/<header>.toml`. To add
//! `saCkpt.h`: write `abi/sa_ckpt.rs` (with `use super::sa_ais::*;`), add
//! `pub mod sa_ckpt;` below, write `cbindgen/saCkpt.toml` (include guard,
//! `includes = ["saAis.h"]`, `[export] include` for types no prototype
//! uses), add the line to `headers.list`, run `scripts/gen-headers.sh`, and
//! add `c-tests/abi/abi_saCkpt.c`. Types from `saAis.h` are not found by
//! cbindgen in single-file mode; it prints them by name, which is what we
//! want (its "Can't find SaNameT" warning is silenced with `--quiet`). The
//! script then makes two textual fix-ups so that C89 and C++98 programs
//! compile under `-pedantic` as with the classic headers: no comma after
//! the last enumerator, and C comments instead of `//` after `#endif`.
//!
//! `common.toml` prints every struct and enum as `typedef struct {...} T;`
//! (style "type"), as the SA Forum headers do. `evs.h` and `cpg.h` set
//! style "both" in their own config (`typedef struct cpg_name {...}
//! cpg_name;`), because programs name their structs by tag (`struct
//! cpg_name`) and their callback structs and enums by typedef
//! (`cpg_callbacks_t`); `gen-headers.sh` then drops the common `style`.
//!
//! # Enums: C hands us integers, never Rust enums (fixed rule)
//!
//! A C caller can pass any bit pattern where the spec says `SaFooT`; a Rust
//! `enum` holding a value outside its variants is undefined behaviour. So
//! each spec enum is written twice under the same name:
//!
//! ```ignore
//! /// cbindgen:ignore
//! pub type SaDispatchFlagsT = c_uint;          // what crosses the boundary
//! pub mod enums {
//!     #[repr(C)]
//!     pub enum SaDispatchFlagsT { SA_DISPATCH_ONE = 1, /* ... */ }
//! }
//! c_enum!(SaDispatchFlagsT { SA_DISPATCH_ONE, SA_DISPATCH_ALL, SA_DISPATCH_BLOCKING });
//! ```
//!
//! - The integer alias is what every Rust signature and `#[repr(C)]` struct
//!   field uses. `cbindgen:ignore` keeps cbindgen from printing it, so the
//!   header shows the name `SaDispatchFlagsT` in prototypes and fields.
//! - The `#[repr(C)]` enum in the inner `enums` module has the same name;
//!   cbindgen (which resolves by name, not path) prints it as the spec's
//!   `typedef enum { ... } SaDispatchFlagsT;`. A C enum whose values are all
//!   non-negative is an `unsigned int` to gcc on our targets, hence
//!   `c_uint` (the C ABI test checks `sizeof`).
//! - [`c_enum!`] gives `TryFrom<raw>` (values outside the enum →
//!   `SA_AIS_ERR_INVALID_PARAM`) and `From<enum> for raw`. Rust code
//!   validates once at the boundary and then matches on the enum:
//!   `let flags = enums::SaDispatchFlagsT::try_from(flags)?;`.
//! - Values Rust hands to C (return codes, callback arguments, fields it
//!   fills) are written as `enums::X::Y as X` or `X::from(enums::X::Y)`.
//! - Bit-flag types that the spec defines as integer typedefs with
//!   `#define`s (e.g. `SaCkptCheckpointCreationFlagsT`, `SA_TRACK_*`) are
//!   plain aliases and constants, as in the spec; validate unknown bits
//!   where the spec says `SA_AIS_ERR_BAD_FLAGS`.

#[allow(non_camel_case_types, non_snake_case)]
pub mod sa_ais;

pub mod convert;

pub mod group_api;

#[allow(non_camel_case_types, non_snake_case)]
pub mod sa_clm;

#[allow(non_camel_case_types, non_snake_case)]
pub mod sa_amf;

/// `ais_amf.h` (AMF A.01.01): written by hand, not by cbindgen.
#[allow(non_camel_case_types, non_snake_case)]
pub mod ais_amf;

#[allow(non_camel_case_types, non_snake_case)]
pub mod sa_ckpt;

#[allow(non_camel_case_types, non_snake_case)]
pub mod sa_evt;

#[allow(non_camel_case_types, non_snake_case)]
pub mod sa_lck;

#[allow(non_camel_case_types, non_snake_case)]
pub mod sa_msg;

#[allow(non_camel_case_types, non_snake_case)]
pub mod evs;

#[allow(non_camel_case_types, non_snake_case)]
pub mod cpg;

#[cfg(test)]
mod tests;

/// Implements the checked conversions between a spec enum's integer
/// (`$name`, an alias of `c_uint`) and its Rust enum (`enums::$name`), for a
/// module that has both, as described in the module doc. Every variant must
/// be listed: the generated `From` impl matches exhaustively, so a variant
/// left out is a compile error.
#[macro_export]
macro_rules! c_enum {
    ($name:ident { $($variant:ident),+ $(,)? }) => {
        impl ::core::convert::TryFrom<$name> for enums::$name {
            type Error = $crate::error::AisError;
            fn try_from(raw: $name) -> ::core::result::Result<Self, Self::Error> {
                $(
                    if raw == enums::$name::$variant as $name {
                        return Ok(enums::$name::$variant);
                    }
                )+
                Err($crate::error::AisError::INVALID_PARAM)
            }
        }
        impl ::core::convert::From<enums::$name> for $name {
            fn from(value: enums::$name) -> $name {
                match value {
                    $(enums::$name::$variant => enums::$name::$variant as $name,)+
                }
            }
        }
    };
}
