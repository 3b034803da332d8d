//! The data-file importer's parser: any input is read or refused with an error, and a file that
//! was read renders back to text that reads again to the same file.
#![no_main]

use herald_core::datafile::{DataFile, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = if first % 2 == 0 { Format::Toml } else { Format::Json };
    if let Ok(file) = DataFile::parse(text, format) {
        let again = file.render(format);
        let reread = DataFile::parse(&again, format)
            .unwrap_or_else(|e| panic!("a rendered file does not read again: {e}\n{again}"));
        assert_eq!(reread.render(format), again, "rendering is not stable");
    }
});
