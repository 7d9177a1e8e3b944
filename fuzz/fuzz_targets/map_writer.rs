//! The map writer on any response: it refuses with a reason or makes an
//! entry whose lengths, counts and TTL offsets stay within the XDP
//! program's bounds.
#![no_main]

use anycast_user::answer_entry::{AnswerEntry, WritePolicy};
use hickory_proto::op::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(response) = Message::from_vec(data) else { return };
    let Ok(entry) = AnswerEntry::from_response(&response, &[1, 2], 1_000_000_000_000, &WritePolicy::default()) else {
        return;
    };
    let value = &entry.value;
    let data_len = usize::from(value.data_len);
    assert!(data_len <= anycast_common::MAX_DATA_LEN);
    assert!(usize::from(value.ttl_count) <= value.ttl_offsets.len());
    for &at in &value.ttl_offsets[..usize::from(value.ttl_count)] {
        assert!(usize::from(at) + 4 <= data_len, "a TTL offset past the data");
    }
    assert!(usize::from(value.name_len) <= value.name.len());
    assert_eq!(&value.name[..usize::from(value.name_len)], entry.name());
});
