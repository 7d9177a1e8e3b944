//! 0x20 (draft-vixie-dnsext-dns0x20): the resolver asks with the letters
//! of the name in random case and takes over UDP only a reply whose
//! question echoes that case exactly, so a forger must guess the case too
//! (one bit per letter) besides the port and the ID. What comes back is
//! put into the name's own case again before it is cached or served.

use hickory_proto::{op::Message, rr::Name};
use rand::Rng;

/// `name` with each ASCII letter in a random case.
pub fn randomise(name: &Name) -> Name {
    let mut rng = rand::rng();
    let labels: Vec<Vec<u8>> = name
        .iter()
        .map(|label| {
            label.iter().map(|&b| if b.is_ascii_alphabetic() && rng.random() { b ^ 0x20 } else { b }).collect()
        })
        .collect();
    match Name::from_labels(labels.iter().map(Vec::as_slice)) {
        Ok(mut randomised) => {
            randomised.set_fqdn(name.is_fqdn());
            randomised
        }
        Err(_) => name.clone(),
    }
}

/// Puts `name` back where the reply echoes it in the case it was asked
/// in: the question, and every owner name that ends in labels of the name
/// (a server compresses them against the question it was sent, so an NSEC
/// record's owner `*.wild.example.` echoes the case asked of
/// `a.wild.example.`).
pub fn restore(reply: &mut Message, name: &Name) {
    for question in &mut reply.queries {
        if question.name() == name {
            question.set_name(name.clone());
        }
    }
    for record in reply.answers.iter_mut().chain(&mut reply.authorities).chain(&mut reply.additionals) {
        if let Some(owner) = in_case_of(&record.name, name) {
            record.name = owner;
        }
    }
}

/// `owner` with the labels it shares at its end with `name` spelled as
/// `name` spells them; None if it shares none.
fn in_case_of(owner: &Name, name: &Name) -> Option<Name> {
    let shared = owner.iter().rev().zip(name.iter().rev()).take_while(|(a, b)| a.eq_ignore_ascii_case(b)).count();
    if shared == 0 {
        return None;
    }
    let own = owner.iter().take(owner.iter().len() - shared);
    let theirs = name.iter().skip(name.iter().len() - shared);
    let mut restored = Name::from_labels(own.chain(theirs)).ok()?;
    restored.set_fqdn(owner.is_fqdn());
    Some(restored)
}

#[cfg(test)]
mod tests {
    use hickory_proto::{
        op::Query,
        rr::{RData, Record, RecordType, rdata::A},
    };

    use super::*;

    #[test]
    fn the_case_varies_but_the_name_does_not() {
        let name = Name::from_ascii("www.example-1.lab.").unwrap();
        let tries: Vec<Name> = (0..64).map(|_| randomise(&name)).collect();
        assert!(tries.iter().all(|t| *t == name && t.is_fqdn()), "the same name, case aside");
        assert!(tries.iter().any(|t| !t.eq_case(&name)), "some case changed");
        let distinct: std::collections::HashSet<String> = tries.iter().map(Name::to_ascii).collect();
        assert!(distinct.len() > 32, "12 letters give 4096 spellings; {} seen", distinct.len());
        assert!(tries.iter().all(|t| t.to_ascii().contains("-1")), "digits and hyphens stay");
    }

    #[test]
    fn the_reply_is_put_back_into_the_names_case() {
        let name = Name::from_ascii("www.example.lab.").unwrap();
        let asked = Name::from_ascii("wWw.ExaMple.lAb.").unwrap();
        let mut reply = Message::query();
        reply.queries.push(Query::query(asked.clone(), RecordType::A));
        reply.answers.push(Record::from_rdata(asked, 60, RData::A(A::new(192, 0, 2, 1))));
        let proof_owner = Name::from_ascii("*.ExaMple.lAb.").unwrap();
        reply.authorities.push(Record::from_rdata(proof_owner, 60, RData::A(A::new(192, 0, 2, 2))));
        let elsewhere = Name::from_ascii("Other.Test.").unwrap();
        reply.additionals.push(Record::from_rdata(elsewhere.clone(), 60, RData::A(A::new(192, 0, 2, 3))));
        restore(&mut reply, &name);
        assert!(reply.queries[0].name().eq_case(&name));
        assert!(reply.answers[0].name.eq_case(&name));
        assert!(reply.authorities[0].name.eq_case(&Name::from_ascii("*.example.lab.").unwrap()), "a shared suffix");
        assert!(reply.additionals[0].name.eq_case(&elsewhere), "names sharing no label stay as they came");
    }
}
