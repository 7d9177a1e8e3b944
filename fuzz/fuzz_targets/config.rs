//! The configuration file and a root hints file: any text is accepted
//! whole or refused with an error, never a panic.
#![no_main]

use anycast_user::{
    config::{Config, file::File, flags::Flags},
    resolver::hints::RootHints,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(file) = toml::from_str::<File>(text) {
        let _ = Config::merge(file, &Flags::default());
    }
    let _ = RootHints::parse(text, "fuzz.hints");
});
