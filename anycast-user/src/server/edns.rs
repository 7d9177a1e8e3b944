//! A query's EDNS as the response answers it: the node's UDP size, DO
//! echoed, the NSID if asked for, and the server cookie for its COOKIE
//! (RFC 7873, RFC 9018), read and made as the fast path does (see
//! `anycast_common::dns::option_use`), so both paths send the same bytes.

use std::net::IpAddr;

use anycast_common::{
    cookie::{self, CLIENT_COOKIE_LEN, SERVER_COOKIE_LEN, ServerCookie},
    dns::{self, OptionUse},
};
use hickory_proto::op::Edns;

use crate::{
    policy::cookies::{self as secrets, Cookies},
    wire::{Nsid, ResponseEdns},
};

/// What the node answers EDNS with.
#[derive(Clone)]
pub struct EdnsPolicy {
    /// EDNS UDP payload size this node advertises and accepts.
    pub udp_size: u16,
    pub nsid: Nsid,
    /// The cookie secrets; None when cookies are off (the option is then
    /// ignored, RFC 7873 5.2).
    pub cookies: Option<std::sync::Arc<Cookies>>,
}

/// A query's EDNS, answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryEdns {
    pub response: ResponseEdns,
    /// The query carried a COOKIE.
    pub has_cookie: bool,
    /// Its server cookie was valid: the client receives at its address,
    /// and the rate limiter lets it through.
    pub proven: bool,
}

/// A COOKIE option RFC 7873 5.2.2 answers with FORMERR: a length it does
/// not allow, or two of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MalformedCookie;

impl EdnsPolicy {
    /// The OPT record of a response to a query from `client` whose OPT had
    /// the DO bit `dnssec_ok` and `options` as (code, data), in order.
    pub fn answer<'a>(
        &self,
        dnssec_ok: bool,
        options: impl IntoIterator<Item = (u16, &'a [u8])>,
        client: IpAddr,
    ) -> Result<QueryEdns, MalformedCookie> {
        let mut asked_nsid = false;
        let mut query_cookie = None;
        for (code, data) in options {
            match dns::option_use(code) {
                OptionUse::Cookie if self.cookies.is_some() => {
                    if query_cookie.replace(data).is_some() {
                        return Err(MalformedCookie);
                    }
                }
                OptionUse::Nsid => asked_nsid = true,
                OptionUse::Cookie | OptionUse::Tailoring | OptionUse::Ignored => {}
            }
        }
        let (cookie, proven) = match (query_cookie, &self.cookies) {
            (Some(data), Some(cookies)) => {
                let (option, proven) = reply_cookie(data, client, cookies)?;
                (Some(option), proven)
            }
            _ => (None, false),
        };
        let response =
            ResponseEdns { nsid: asked_nsid.then_some(self.nsid), cookie, ..self.without_options(dnssec_ok) };
        Ok(QueryEdns { response, has_cookie: cookie.is_some(), proven })
    }

    /// [`EdnsPolicy::answer`] for an OPT record as hickory parsed it.
    pub fn answer_parsed(&self, edns: &Edns, client: IpAddr) -> Result<QueryEdns, MalformedCookie> {
        // hickory keeps options it knows (client subnet) decoded; their
        // bytes are only ever looked at for the code. A COOKIE is always
        // raw bytes to it.
        let options: Vec<(u16, Vec<u8>)> = edns
            .options()
            .as_ref()
            .iter()
            .filter_map(|(code, option)| Some((u16::from(*code), Vec::<u8>::try_from(option).ok()?)))
            .collect();
        self.answer(edns.flags().dnssec_ok, options.iter().map(|(code, data)| (*code, data.as_slice())), client)
    }

    /// The OPT record without options: for a FORMERR for a malformed
    /// COOKIE, and the base of every other.
    pub fn without_options(&self, dnssec_ok: bool) -> ResponseEdns {
        ResponseEdns { udp_size: self.udp_size, dnssec_ok, extended_rcode: 0, nsid: None, cookie: None, ede: None }
    }
}

/// The response's COOKIE option for the query's `data`, and whether the
/// query's server cookie was valid.
fn reply_cookie(
    data: &[u8],
    client: IpAddr,
    cookies: &Cookies,
) -> Result<([u8; CLIENT_COOKIE_LEN + SERVER_COOKIE_LEN], bool), MalformedCookie> {
    if !cookie::valid_option_len(data.len()) {
        return Err(MalformedCookie);
    }
    let client_cookie = u64::from_le_bytes(data[..CLIENT_COOKIE_LEN].try_into().expect("8 bytes"));
    // A server cookie of another length is another implementation's:
    // invalid here.
    let server = <&[u8; SERVER_COOKIE_LEN]>::try_from(&data[CLIENT_COOKIE_LEN..]).ok().map(ServerCookie::from_bytes);
    let (secrets, now) = cookies.now();
    let addr = secrets::client_addr(client);
    let (made, verdict) = cookie::respond(&secrets, server.as_ref(), client_cookie, &addr, now);
    let mut option = [0u8; CLIENT_COOKIE_LEN + SERVER_COOKIE_LEN];
    option[..CLIENT_COOKIE_LEN].copy_from_slice(&data[..CLIENT_COOKIE_LEN]);
    option[CLIENT_COOKIE_LEN..].copy_from_slice(&made.to_bytes());
    Ok((option, verdict.is_valid()))
}

#[cfg(test)]
mod tests {
    use anycast_common::cookie::{CLIENT_COOKIE_LEN, SERVER_COOKIE_LEN};
    use hickory_proto::{
        op::{Message, ResponseCode},
        rr::RecordType,
    };

    use std::sync::Arc;

    use super::*;
    use crate::{
        policy::ratelimit::{Limiter, RateLimitSettings},
        server::{
            respond::Responder,
            tests::{CLIENT, NSID, query_with_options, responder, responder_with},
            transport::Transport,
        },
    };

    const CLIENT_COOKIE: [u8; CLIENT_COOKIE_LEN] = [0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57];

    /// The options of the response's OPT record, as (code, data), in order.
    fn options(response: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let m = Message::from_vec(response).expect("the response parses");
        let edns = m.edns.expect("an OPT record");
        edns.options()
            .as_ref()
            .iter()
            .map(|(code, option)| (u16::from(*code), Vec::<u8>::try_from(option).unwrap()))
            .collect()
    }

    async fn ask(r: &Responder<crate::resolver::testnet::FakeNet>, options: &[(u16, &[u8])]) -> Vec<u8> {
        let q = query_with_options("www.example.lab.", RecordType::A, Some((1232, false, 0)), options);
        r.respond(&q, CLIENT, Transport::Udp).await.expect("a response")
    }

    fn rcode(response: &[u8]) -> u16 {
        let m = Message::from_vec(response).unwrap();
        u16::from(m.metadata.response_code)
    }

    /// The server cookie of a response, checked against the responder's
    /// secrets.
    fn server_cookie(r: &Responder<crate::resolver::testnet::FakeNet>, response: &[u8]) -> [u8; SERVER_COOKIE_LEN] {
        let cookie = options(response).into_iter().find(|(code, _)| *code == cookie::OPTION_COOKIE).expect("a COOKIE");
        assert_eq!(cookie.1[..CLIENT_COOKIE_LEN], CLIENT_COOKIE, "the client cookie echoed");
        let server: [u8; SERVER_COOKIE_LEN] = cookie.1[CLIENT_COOKIE_LEN..].try_into().expect("16 bytes");
        let (secrets, now) = r.admission.load().edns.cookies.as_ref().unwrap().now();
        let addr = secrets::client_addr(CLIENT);
        let checked =
            cookie::check(&secrets, &ServerCookie::from_bytes(&server), u64::from_le_bytes(CLIENT_COOKIE), &addr, now);
        assert!(checked.is_valid(), "a valid server cookie");
        server
    }

    #[tokio::test]
    async fn client_cookies_get_a_server_cookie_and_valid_ones_come_back() {
        let r = responder();
        let first = ask(&r, &[(cookie::OPTION_COOKIE, &CLIENT_COOKIE)]).await;
        assert_eq!(rcode(&first), 0);
        let server = server_cookie(&r, &first);
        let both = [CLIENT_COOKIE.as_slice(), server.as_slice()].concat();
        let again = ask(&r, &[(cookie::OPTION_COOKIE, &both)]).await;
        assert_eq!(server_cookie(&r, &again), server, "a fresh valid cookie is sent back as it came");
        let mut forged = both.clone();
        forged[20] ^= 1;
        let renewed = ask(&r, &[(cookie::OPTION_COOKIE, &forged)]).await;
        assert_eq!(rcode(&renewed), 0, "an invalid server cookie is answered as if it were absent");
        server_cookie(&r, &renewed);
        let foreign = [CLIENT_COOKIE.as_slice(), &[7; 24]].concat();
        assert_eq!(rcode(&ask(&r, &[(cookie::OPTION_COOKIE, &foreign)]).await), 0, "another length: invalid");
    }

    #[tokio::test]
    async fn malformed_cookies_are_formerr_without_a_cookie() {
        let r = responder();
        type Options<'a> = Vec<(u16, &'a [u8])>;
        let cases: [(&str, Options); 4] = [
            ("5 bytes", vec![(cookie::OPTION_COOKIE, &[1; 5])]),
            ("12 bytes", vec![(cookie::OPTION_COOKIE, &[1; 12])]),
            ("41 bytes", vec![(cookie::OPTION_COOKIE, &[1; 41])]),
            ("two of them", vec![(cookie::OPTION_COOKIE, &CLIENT_COOKIE), (cookie::OPTION_COOKIE, &CLIENT_COOKIE)]),
        ];
        for (what, opts) in cases {
            let response = ask(&r, &opts).await;
            assert_eq!(rcode(&response), u16::from(ResponseCode::FormErr), "{what}");
            assert!(options(&response).is_empty(), "{what}: no cookie in a FORMERR");
        }
    }

    #[tokio::test]
    async fn nsid_when_asked_before_the_cookie_and_padding_ignored() {
        let r = responder();
        let plain = ask(&r, &[(12, &[0; 40])]).await;
        assert!(options(&plain).is_empty(), "padding asks for nothing");
        let both = ask(&r, &[(dns::OPTION_NSID, &[]), (12, &[0; 7]), (cookie::OPTION_COOKIE, &CLIENT_COOKIE)]).await;
        let codes: Vec<u16> = options(&both).iter().map(|(code, _)| *code).collect();
        assert_eq!(codes, [dns::OPTION_NSID, cookie::OPTION_COOKIE], "NSID, then COOKIE");
        assert_eq!(options(&both)[0].1, NSID);
        let off = responder_with(|a| a.edns.cookies = None);
        let ignored = ask(&off, &[(cookie::OPTION_COOKIE, &[1; 5])]).await;
        assert_eq!((rcode(&ignored), options(&ignored)), (0, vec![]), "cookies off: the option is ignored");
    }

    #[tokio::test]
    async fn over_the_limit_cookies_get_badcookie_and_valid_ones_pass() {
        let limit = RateLimitSettings { responses_per_second: 1, burst: 1, slip: 1, ..RateLimitSettings::OFF };
        let r = responder_with(|a| a.limiter = Limiter::new(&limit).map(Arc::new));
        let first = ask(&r, &[(cookie::OPTION_COOKIE, &CLIENT_COOKIE)]).await;
        let server = server_cookie(&r, &first);
        let plain = ask(&r, &[]).await;
        let m = Message::from_vec(&plain).unwrap();
        assert!(m.metadata.truncation && m.answers.is_empty(), "no cookie: the slip is TC");
        let client_only = ask(&r, &[(cookie::OPTION_COOKIE, &CLIENT_COOKIE)]).await;
        assert_eq!(rcode(&client_only), dns::RCODE_BADCOOKIE, "a client cookie alone: BADCOOKIE");
        assert!(!Message::from_vec(&client_only).unwrap().metadata.truncation);
        // With a server cookie to retry with (a new one, so not compared).
        server_cookie(&r, &client_only);
        let both = [CLIENT_COOKIE.as_slice(), server.as_slice()].concat();
        for _ in 0..5 {
            let answered = ask(&r, &[(cookie::OPTION_COOKIE, &both)]).await;
            assert_eq!(Message::from_vec(&answered).unwrap().answers.len(), 1, "a valid cookie is not limited");
        }
    }
}
