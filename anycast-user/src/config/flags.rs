//! The settings given on the command line. Each is a key of the file too,
//! and wins over it: the flags are laid over the file before its sections
//! are checked.

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
};

use super::{file::File, resolver::ModeName, service::XdpMode};

#[derive(Clone, Debug, Default, clap::Args)]
pub struct Flags {
    /// The configuration file (TOML).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// NIC to attach the XDP program to (service.interface).
    #[arg(long, short = 'i', value_name = "NAME")]
    pub interface: Option<String>,
    /// An anycast service address; repeat for more (service.vips).
    #[arg(long = "vip", value_name = "ADDRESS")]
    pub vips: Vec<IpAddr>,
    /// How to attach the XDP program (service.xdp_mode).
    #[arg(long, value_enum)]
    pub xdp_mode: Option<XdpMode>,
    /// Recursive from the root hints, or forwarding (resolver.mode).
    #[arg(long, value_enum)]
    pub mode: Option<ModeName>,
    /// An upstream for forward mode; repeat for more (resolver.forwarders).
    #[arg(long = "forwarder", value_name = "ADDRESS[:PORT]")]
    pub forwarders: Vec<String>,
    /// Root hints file (resolver.root_hints).
    #[arg(long, value_name = "FILE")]
    pub root_hints: Option<PathBuf>,
    /// Trust anchor file of DS or DNSKEY lines (dnssec.trust_anchor).
    #[arg(long, value_name = "FILE")]
    pub trust_anchor: Option<PathBuf>,
    /// A domain served as insecure whatever its signatures say; repeat
    /// for more (dnssec.negative_trust_anchors).
    #[arg(long = "negative-trust-anchor", value_name = "DOMAIN")]
    pub negative_trust_anchors: Vec<String>,
    /// A network allowed to query; repeat for more (acl.allow).
    #[arg(long = "allow", value_name = "NETWORK")]
    pub allow: Vec<String>,
    /// Another address to serve on; repeat for more (service.listen).
    #[arg(long = "listen", value_name = "ADDRESS")]
    pub listen: Vec<IpAddr>,
    /// DNS port (service.port).
    #[arg(long)]
    pub port: Option<u16>,
    /// The control socket (service.control_socket).
    #[arg(long, value_name = "PATH")]
    pub control_socket: Option<PathBuf>,
    /// Serve Prometheus metrics over HTTP at ADDRESS:PORT/metrics
    /// (service.metrics; off unless given).
    #[arg(long, value_name = "ADDRESS:PORT")]
    pub metrics: Option<SocketAddr>,
    /// Where the fast path is pinned, on bpffs (fastpath.pin_dir).
    #[arg(long, value_name = "DIR")]
    pub pin_dir: Option<PathBuf>,
    /// Worker threads; one per CPU the daemon may run on unless given
    /// (service.threads).
    #[arg(long, value_name = "N")]
    pub threads: Option<u64>,
    /// The node's NSID (RFC 5001), e.g. its host name (service.nsid).
    #[arg(long, value_name = "NAME")]
    pub nsid: Option<String>,
    /// The certificate chain (PEM) for DNS over TLS and HTTPS, which are
    /// on with it (tls.certificate).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_certificate: Option<PathBuf>,
    /// Its private key (PEM) (tls.key).
    #[arg(long, value_name = "FILE", requires = "tls_certificate")]
    pub tls_key: Option<PathBuf>,
    /// Resolve a peer's hot names before the first announcement: a file
    /// of `anycastd ctl dump-hot`, or http://ADDRESS:PORT/hot
    /// (announce.warm_from).
    #[arg(long, value_name = "FILE|URL")]
    pub warm_from: Option<String>,
}

impl Flags {
    /// Puts every flag given into its key of `file`. A repeated flag
    /// replaces the file's whole list.
    pub fn overlay(&self, file: &mut File) {
        fn set<T: Clone>(key: &mut Option<T>, flag: &Option<T>) {
            if flag.is_some() {
                key.clone_from(flag);
            }
        }
        fn set_list<T: Clone>(key: &mut Option<Vec<T>>, flag: &[T]) {
            if !flag.is_empty() {
                *key = Some(flag.to_vec());
            }
        }
        let service = &mut file.service;
        set(&mut service.interface, &self.interface);
        set_list(&mut service.vips, &self.vips);
        set(&mut service.xdp_mode, &self.xdp_mode);
        set_list(&mut service.listen, &self.listen);
        set(&mut service.port, &self.port);
        set(&mut service.control_socket, &self.control_socket);
        set(&mut service.metrics, &self.metrics);
        set(&mut service.threads, &self.threads);
        set(&mut service.nsid, &self.nsid);
        set_list(&mut file.acl.allow, &self.allow);
        let resolver = &mut file.resolver;
        set(&mut resolver.mode, &self.mode);
        set_list(&mut resolver.forwarders, &self.forwarders);
        set(&mut resolver.root_hints, &self.root_hints);
        set(&mut file.dnssec.trust_anchor, &self.trust_anchor);
        set_list(&mut file.dnssec.negative_trust_anchors, &self.negative_trust_anchors);
        set(&mut file.fastpath.pin_dir, &self.pin_dir);
        set(&mut file.tls.certificate, &self.tls_certificate);
        set(&mut file.tls.key, &self.tls_key);
        set(&mut file.announce.warm_from, &self.warm_from);
    }
}
