//! The benchmark's XDP programs through BPF_PROG_TEST_RUN: the reflector
//! echoes a query as a well-formed reply (addresses, ports, QR, checksum)
//! and passes what is not DNS; the sink counts and drops responses by RCODE
//! and passes the rest; the generator writes its prebuilt frames in turn,
//! whatever the page held before.

use std::net::IpAddr;

use anycast_common::bench::{FRAME_SLOT, SinkCounter};
use anycast_tests::{
    bench_programs::{load_generator, load_sink, sink_count},
    frame::{CLIENT_MAC, FrameSpec, NODE_MAC},
    harness::{CLIENT4, CLIENT6, VIP4, VIP6, XDP_DROP, XDP_PASS, XDP_TX, require_root},
    reply::{Sender, parse},
    zone::{EDNS, Sections, query, respond, wire},
};
use aya::programs::{TestRun, TestRunOptions, Xdp};
use hickory_proto::{op::ResponseCode, rr::RecordType};

/// Runs `program` once on `frame`: its action and the frame it left.
fn run(program: &Xdp, frame: &[u8]) -> (u32, Vec<u8>) {
    let mut out = vec![0u8; 4096];
    let mut options = TestRunOptions::new();
    options.data_in = Some(frame);
    options.data_out = Some(&mut out);
    let result = program.test_run(options).unwrap_or_else(|e| panic!("BPF_PROG_TEST_RUN: {e}"));
    out.truncate(result.data_size_out as usize);
    (result.return_value, out)
}

#[test]
fn the_reflector_echoes_a_query_as_a_reply_and_passes_the_rest() {
    require_root();
    let mut ebpf = anycast_lab_xdp::load(anycast_lab_xdp::REFLECTOR, "reflector")
        .unwrap_or_else(|e| panic!("loading the reflector: {e}"));
    let program: &Xdp = anycast_lab_xdp::xdp(&mut ebpf, "reflector").unwrap_or_else(|e| panic!("{e}"));
    let cases: [(IpAddr, IpAddr, _); 2] = [
        (CLIENT4.into(), VIP4.into(), query(0x1234, "www.example.", RecordType::A, None)),
        (CLIENT6.into(), VIP6.into(), query(0x4321, "www.example.", RecordType::AAAA, EDNS)),
    ];
    for (client, vip, question) in cases {
        let payload = wire(&question);
        let (action, out) = run(program, &FrameSpec::dns(client, vip, payload.clone()).build());
        assert_eq!(action, XDP_TX, "a query to port 53 over {client} is echoed");
        let reply =
            parse(&out, Sender::Node).unwrap_or_else(|e| panic!("the echo over {client} is not well formed: {e}"));
        assert_eq!((reply.eth_dst, reply.eth_src), (CLIENT_MAC, NODE_MAC), "MAC addresses swapped");
        assert_eq!((reply.src, reply.dst), (vip, client), "addresses swapped");
        assert_eq!((reply.sport, reply.dport), (53, 40_000), "ports swapped");
        let mut expected = payload;
        expected[2] |= 0x80;
        assert_eq!(reply.dns, expected, "the query with QR set, nothing else changed");
    }
    let mut not_dns = FrameSpec::dns(CLIENT4.into(), VIP4.into(), vec![0; 12]);
    not_dns.dport = 80;
    let frame = not_dns.build();
    assert_eq!(run(program, &frame), (XDP_PASS, frame), "UDP to port 80 is passed untouched");
}

#[test]
fn the_sink_counts_responses_by_rcode_drops_them_and_passes_the_rest() {
    require_root();
    let sink = load_sink().unwrap_or_else(|e| panic!("{e}"));
    let program: &Xdp = sink.program("sink").expect("a sink program").try_into().expect("an XDP program");
    let response = |rcode| {
        let question = query(7, "www.example.", RecordType::A, None);
        let mut spec =
            FrameSpec::dns(VIP4.into(), CLIENT4.into(), wire(&respond(&question, rcode, Sections::default())));
        (spec.sport, spec.dport) = (53, 40_000);
        spec.build()
    };
    assert_eq!(run(program, &response(ResponseCode::NoError)).0, XDP_DROP);
    assert_eq!(run(program, &response(ResponseCode::NXDomain)).0, XDP_DROP);
    assert_eq!(run(program, &response(ResponseCode::ServFail)).0, XDP_DROP);
    let question = FrameSpec::dns(CLIENT4.into(), VIP4.into(), wire(&query(7, "www.example.", RecordType::A, None)));
    assert_eq!(run(program, &question.build()).0, XDP_PASS, "a query is not an answer");
    let mut arp = vec![0xffu8; 6];
    arp.extend_from_slice(&CLIENT_MAC);
    arp.extend_from_slice(&[0x08, 0x06]);
    arp.resize(60, 0);
    assert_eq!(run(program, &arp).0, XDP_PASS, "ARP is passed");
    let count = |c| sink_count(&sink, c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(count(SinkCounter::NoError), 1);
    assert_eq!(count(SinkCounter::NxDomain), 1);
    assert_eq!(count(SinkCounter::OtherRcode), 1);
    assert_eq!(count(SinkCounter::Passed), 2);
}

#[test]
fn the_generator_writes_its_frames_in_turn_over_whatever_the_page_held() {
    require_root();
    let frames: Vec<Vec<u8>> = ["a.example.", "a-longer-name.example.", "v6.example."]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (src, dst): (IpAddr, IpAddr) =
                if i == 2 { (CLIENT6.into(), VIP6.into()) } else { (CLIENT4.into(), VIP4.into()) };
            FrameSpec::dns(src, dst, wire(&query(i as u16, name, RecordType::A, None))).build()
        })
        .collect();
    let generator = load_generator(&frames).unwrap_or_else(|e| panic!("{e}"));
    let program: &Xdp =
        generator.program("generator").expect("a generator program").try_into().expect("an XDP program");
    // Live-frame mode hands the program recycled pages: here, garbage.
    let page = [0xa5u8; FRAME_SLOT];
    for turn in 0..7 {
        let (action, out) = run(program, &page);
        assert_eq!(action, XDP_TX, "turn {turn}");
        assert_eq!(out, frames[turn % frames.len()], "turn {turn} sends frame {}", turn % frames.len());
    }
    assert!(load_generator(&[vec![0; FRAME_SLOT + 1]]).is_err(), "a frame over the slot is refused");
    assert!(load_generator(&[]).is_err(), "no frames is refused");
}
