//! The questions the differential tests ask: every zone and case the
//! lab's hierarchy has.

/// The questions: every host of example.lab. (A, and AAAA where half are
/// NODATA), NXDOMAIN in each zone, and the special cases.
pub fn corpus() -> Vec<(String, &'static str)> {
    let mut questions = Vec::new();
    for i in 1..=anycast_lab::hierarchy::HOSTS {
        questions.push((format!("h{i}.example.lab."), "A"));
        questions.push((format!("h{i}.example.lab."), "AAAA"));
    }
    for zone in ["example.lab.", "lab.", "noglue.lab.", "lame.lab.", "slow.lab.", "example.", "hosting.example."] {
        questions.push((format!("no-such-name.{zone}"), "A"));
        questions.push((format!("deeper.no-such-name.{zone}"), "AAAA"));
    }
    for (name, rtype) in [
        ("no-such-tld.", "A"),
        (".", "NS"),
        (".", "SOA"),
        ("lab.", "NS"),
        ("lab.", "SOA"),
        ("lab.", "A"),
        ("www.lab.", "A"),
        ("www.lab.", "AAAA"),
        ("example.lab.", "NS"),
        ("example.lab.", "SOA"),
        ("example.lab.", "MX"),
        ("example.lab.", "TXT"),
        ("mail.example.lab.", "A"),
        ("www.example.lab.", "A"),
        ("WWW.Example.LAB.", "AAAA"),
        ("www.example.lab.", "MX"),
        ("multi.example.lab.", "A"),
        ("alias.example.lab.", "A"),
        ("alias.example.lab.", "AAAA"),
        ("alias.example.lab.", "CNAME"),
        ("chain.example.lab.", "A"),
        ("chain.example.lab.", "TXT"),
        ("big.example.lab.", "TXT"),
        ("short.example.lab.", "A"),
        ("anything.wild.example.lab.", "A"),
        ("a.b.wild.example.lab.", "A"),
        ("anything.wild.example.lab.", "AAAA"),
        ("_dns._udp.example.lab.", "SRV"),
        ("host.noglue.lab.", "A"),
        ("noglue.lab.", "NS"),
        ("host.lame.lab.", "A"),
        ("lame.lab.", "SOA"),
        ("host.slow.lab.", "A"),
        ("slow.lab.", "NS"),
        ("www.hosting.example.", "A"),
        ("ns.hosting.example.", "A"),
        ("example.", "NS"),
        ("example.", "SOA"),
    ] {
        questions.push((name.to_string(), rtype));
    }
    questions
}
