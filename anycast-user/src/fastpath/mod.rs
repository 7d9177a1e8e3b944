//! The XDP fast path from userspace: loads the program, writes its config
//! and VIPs, fills the answer map and reads the per-CPU counters. Pinned
//! (see [`pin`]), it outlives the daemon and is taken over by the next.

pub mod attachment;
mod btf;
pub mod cookie_map;
mod delivery;
mod error;
mod pin;
pub mod tap;
pub mod tap_sampling;

pub use error::FastPathError;

use std::{collections::HashSet, net::IpAddr, os::fd::AsFd, path::Path};

use anycast_common::{
    ACL_INLINE, ACL_OPEN, ACL_TRIE, AnswerKey, AnswerValue, CLASSIC_UDP_LEN, FastPathConfig, MAX_INLINE_ACL_V4,
    MAX_INLINE_ACL_V6, MAX_RESPONSE_LEN, MAX_VIPS, Outcome, PROGRAM_NAME, RateLimit, dns::MAX_NSID_LEN, map_names,
};
use aya::{
    Ebpf, EbpfLoader,
    maps::{
        Array, HashMap, MapData, MapError, PerCpuArray,
        lpm_trie::{Key, LpmTrie},
    },
    programs::{
        Xdp, XdpMode,
        links::{FdLink, PinnedLink},
        xdp::XdpLink,
    },
};

use error::map_err;
use pin::{PINNED_MAPS, Pins};
use tap_sampling::{CAPTURE_RING_BYTES, IDLE_RING_BYTES, RING_BYTES, TapSampling};

use crate::{
    answer_entry::{AnswerEntry, RrsetOrder},
    clock,
    policy::{
        acl::{Acl, prefix_mask},
        ratelimit::RateLimitSettings,
    },
};

/// The XDP fast path's object file, built by this crate's build script.
static FAST_PATH_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/anycast"));

/// What the fast path is loaded with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The service addresses it answers for (at most [`MAX_VIPS`] of each
    /// family); fixed for the life of the program.
    pub vips: Vec<IpAddr>,
    /// The clients it answers; the others are passed to the daemon, which
    /// refuses them.
    pub acl: Acl,
    /// Entries of the answer map (an LRU: the least recently used go first).
    pub answer_capacity: u32,
    pub udp_port: u16,
    /// EDNS UDP payload size the node advertises.
    pub edns_udp_size: u16,
    /// Response rate limiting per client prefix.
    pub rate_limit: RateLimitSettings,
    /// The node's NSID (RFC 5001), at most [`MAX_NSID_LEN`] bytes; empty
    /// for none.
    pub nsid: Vec<u8>,
    /// Whether queries with a COOKIE get server cookies, made with the
    /// secrets of the cookie map.
    pub cookies: bool,
    /// The index of the interface it is attached to (0 if none: transmit
    /// errors are then not counted).
    pub ifindex: u32,
    /// Answer queries whose UDP checksum is partial (see
    /// `config::fastpath::PartialChecksums`).
    pub accept_partial_checksums: bool,
    /// Which answers go to the TAP ring for dnstap.
    pub tap: TapSampling,
    /// How answers order their last A or AAAA RRset.
    pub rrset_order: RrsetOrder,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            vips: Vec::new(),
            acl: Acl::new(Vec::new()),
            answer_capacity: 65_536,
            udp_port: 53,
            edns_udp_size: MAX_RESPONSE_LEN as u16,
            rate_limit: RateLimitSettings::OFF,
            nsid: Vec::new(),
            cookies: true,
            ifindex: 0,
            accept_partial_checksums: false,
            tap: TapSampling::default(),
            rrset_order: RrsetOrder::Fixed,
        }
    }
}

/// A second handle on the answer map, for counting its entries (a key walk,
/// one syscall per entry) without holding the fast path's lock, which the
/// responses take to write answers.
pub struct AnswerMapView(aya::maps::Map);

impl AnswerMapView {
    /// Entries in the map, live or expired.
    pub fn count(&self) -> Result<usize, FastPathError> {
        let map: HashMap<&MapData, AnswerKey, AnswerValue> =
            HashMap::try_from(&self.0).map_err(map_err(map_names::ANSWERS))?;
        Ok(map.keys().filter(Result::is_ok).count())
    }

    /// The entries alive at `now` (see [`LiveEntry`]).
    pub fn live_entries(&self, now: u64) -> Result<Vec<LiveEntry>, FastPathError> {
        let map: HashMap<&MapData, AnswerKey, AnswerValue> =
            HashMap::try_from(&self.0).map_err(map_err(map_names::ANSWERS))?;
        Ok(live_entries(&map, now))
    }
}

/// The entries of `map` alive at `now`, read one by one (an entry that
/// goes meanwhile is skipped).
fn live_entries<T: std::borrow::Borrow<MapData>>(map: &HashMap<T, AnswerKey, AnswerValue>, now: u64) -> Vec<LiveEntry> {
    let keys: Vec<AnswerKey> = map.keys().filter_map(Result::ok).collect();
    keys.into_iter()
        .filter_map(|key| {
            let value = map.get(&key, 0).ok()?;
            (value.expires_ns > now).then(|| LiveEntry {
                key,
                name: value.name[..(value.name_len as usize).min(value.name.len())].to_vec(),
                inserted_ns: value.inserted_ns,
                expires_ns: value.expires_ns,
                served: value.served,
            })
        })
        .collect()
}

/// A handle of its own on `map` (named `name`): its descriptor
/// duplicated. Asking the kernel for the map by ID instead would need
/// CAP_SYS_ADMIN, which a daemon run as its own user does not have.
fn own_handle(map: &MapData, name: &'static str) -> Result<MapData, FastPathError> {
    let fd = map.fd().as_fd().try_clone_to_owned().map_err(|source| FastPathError::Duplicate { name, source })?;
    MapData::from_fd(fd).map_err(map_err(name))
}

/// An entry of the answer map, as [`FastPath::live_entries`] lists it:
/// its key and lower-cased wire name, when it was written and expires
/// (CLOCK_BOOTTIME), and how many answers it gave.
pub struct LiveEntry {
    pub key: AnswerKey,
    pub name: Vec<u8>,
    pub inserted_ns: u64,
    pub expires_ns: u64,
    /// Answers the XDP program gave from it.
    pub served: u32,
}

/// The loaded (not necessarily attached) XDP program and its maps.
pub struct FastPath {
    ebpf: Ebpf,
    config: FastPathConfig,
    /// Where it is pinned, if it is.
    pins: Option<Pins>,
    /// The pinned link, once attached: kept open so that unpinning it on a
    /// graceful stop detaches the program when the daemon exits.
    link: Option<PinnedLink>,
    /// Whether the maps were a previous daemon's.
    taken_over: bool,
    /// Entries the answer map holds at most.
    capacity: u32,
}

impl FastPath {
    /// Loads the program into the kernel and configures it with a fresh
    /// random hash key. Nothing is attached, nothing pinned.
    pub fn load(settings: &Settings) -> Result<FastPath, FastPathError> {
        FastPath::load_with(settings, None)
    }

    /// Loads the program over the maps pinned for `interface` under `root`
    /// by a previous daemon (with their hash key and answers), or over
    /// fresh pinned maps. [`FastPath::attach`] then takes over the pinned
    /// link, if there is one.
    pub fn load_pinned(settings: &Settings, root: &Path, interface: &str) -> Result<FastPath, FastPathError> {
        let pins = Pins::prepare(root, interface)?;
        pins.drop_resized(&[
            (map_names::ANSWERS, settings.answer_capacity),
            (map_names::RATE_BUCKETS, settings.rate_limit.table_size.max(1)),
        ])?;
        FastPath::load_with(settings, Some(pins))
    }

    fn load_with(settings: &Settings, pins: Option<Pins>) -> Result<FastPath, FastPathError> {
        let mut config = config(settings)?;
        let mut loader = EbpfLoader::new();
        loader
            .map_max_entries(map_names::ANSWERS, settings.answer_capacity)
            .map_max_entries(map_names::RATE_BUCKETS, settings.rate_limit.table_size.max(1))
            .map_max_entries(map_names::TAP, if settings.tap.every == 0 { IDLE_RING_BYTES } else { RING_BYTES })
            .map_max_entries(map_names::CAPTURE, CAPTURE_RING_BYTES);
        if let Some(pins) = &pins {
            for name in PINNED_MAPS {
                loader.map_pin_path(name, pins.map(name));
            }
        }
        let mut ebpf = loader.load(FAST_PATH_OBJECT)?;
        load_program(&mut ebpf, PROGRAM_NAME)?;
        let capacity = settings.answer_capacity;
        let mut fast_path = FastPath { ebpf, config, pins, link: None, taken_over: false, capacity };
        let map: Array<_, FastPathConfig> = fast_path.map(map_names::CONFIG)?;
        let previous = map.get(&0, 0).map_err(map_err(map_names::CONFIG))?;
        // Pinned maps written before: their entries are keyed with the
        // previous daemon's hash key, so it stays.
        if previous.udp_port != 0 {
            config.hash_key = previous.hash_key;
            fast_path.taken_over = true;
        }
        fast_path.config = config;
        fast_path.write_acl(&settings.acl)?;
        let mut map: Array<_, FastPathConfig> = fast_path.map(map_names::CONFIG)?;
        map.set(0, config, 0).map_err(map_err(map_names::CONFIG))?;
        Ok(fast_path)
    }

    /// Entries the answer map holds at most.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Whether the maps (answers, counters, rate limits) were taken over
    /// from a previous daemon.
    pub fn taken_over(&self) -> bool {
        self.taken_over
    }

    /// Puts a reloaded ACL, rate limit and NSID in force: the tries
    /// first, then the config entry in one write, so that a packet is
    /// judged by the old ACL or the new one. The rate-limit table keeps
    /// its size (its map is sized at load).
    pub fn reconfigure(&mut self, acl: &Acl, rate_limit: &RateLimitSettings, nsid: &[u8]) -> Result<(), FastPathError> {
        let mut config = self.config;
        admission(&mut config, acl, rate_limit, nsid)?;
        self.write_acl(acl)?;
        self.config = config;
        self.write_config()
    }

    /// Writes the ACL's networks into the tries and removes any other (a
    /// previous daemon's).
    fn write_acl(&mut self, acl: &Acl) -> Result<(), FastPathError> {
        let (mut v4, mut v6) = (HashSet::new(), HashSet::new());
        for network in acl.networks() {
            let prefix = network.prefix() as u32;
            match network.addr() {
                IpAddr::V4(a) => v4.insert((prefix, a.octets())),
                IpAddr::V6(a) => v6.insert((prefix, a.octets())),
            };
        }
        self.write_trie(map_names::ACL_V4, &v4)?;
        self.write_trie(map_names::ACL_V6, &v6)
    }

    fn write_trie<const N: usize>(
        &mut self,
        name: &'static str,
        networks: &HashSet<(u32, [u8; N])>,
    ) -> Result<(), FastPathError>
    where
        [u8; N]: aya::Pod,
    {
        let mut trie: LpmTrie<_, [u8; N], u8> = self.map(name)?;
        for (prefix, addr) in networks {
            trie.insert(&Key::new(*prefix, *addr), 1, 0).map_err(map_err(name))?;
        }
        let old: Vec<Key<[u8; N]>> = trie.keys().filter_map(Result::ok).collect();
        for key in old {
            if !networks.contains(&(key.prefix_len(), key.data())) {
                trie.remove(&key).map_err(map_err(name))?;
            }
        }
        Ok(())
    }

    /// Secret key of the name hash, for [`AnswerEntry::from_response`].
    pub fn hash_key(&self) -> &[u64; 2] {
        &self.config.hash_key
    }

    /// Puts an answer into the map, replacing the one for the same question
    /// and carrying over how many answers that one gave. A live entry for
    /// another name under the same hash is kept.
    pub fn insert(&mut self, entry: &AnswerEntry) -> Result<(), FastPathError> {
        let mut map = self.answers()?;
        let mut value = *entry.value;
        match map.get(&entry.key, 0) {
            Ok(old) if old.name.get(..old.name_len as usize) == Some(entry.name()) => value.served = old.served,
            Ok(old) if old.expires_ns > clock::boottime_ns() => return Err(FastPathError::HashCollision),
            Ok(_) | Err(MapError::KeyNotFound) => {}
            Err(e) => return Err(map_err(map_names::ANSWERS)(e)),
        }
        map.insert(entry.key, value, 0).map_err(map_err(map_names::ANSWERS))
    }

    /// When the XDP program last answered from the entry for `key` (None if
    /// there is no such entry, Some(0) if it never did).
    pub fn last_hit(&mut self, key: &AnswerKey) -> Result<Option<u64>, FastPathError> {
        match self.answers()?.get(key, 0) {
            Ok(value) => Ok(Some(value.last_hit_ns)),
            Err(MapError::KeyNotFound) => Ok(None),
            Err(e) => Err(map_err(map_names::ANSWERS)(e)),
        }
    }

    /// A handle on the answer map of its own (see [`AnswerMapView`]).
    pub fn answer_map_view(&self) -> Result<AnswerMapView, FastPathError> {
        let Some(aya::maps::Map::LruHashMap(answers)) = self.ebpf.map(map_names::ANSWERS) else {
            return Err(FastPathError::MissingMap(map_names::ANSWERS));
        };
        Ok(AnswerMapView(aya::maps::Map::LruHashMap(own_handle(answers, map_names::ANSWERS)?)))
    }

    /// The entries alive at `now` (see [`LiveEntry`]).
    pub fn live_entries(&mut self, now: u64) -> Result<Vec<LiveEntry>, FastPathError> {
        Ok(live_entries(&self.answers()?, now))
    }

    /// Removes every entry whose name (lower-cased wire form; any type,
    /// class or DO bit) is `doomed`; returns how many there were.
    pub fn purge_where(&mut self, doomed: impl Fn(&[u8]) -> bool) -> Result<usize, FastPathError> {
        let mut map = self.answers()?;
        let keys: Vec<AnswerKey> = map.keys().filter_map(Result::ok).collect();
        let mut removed = 0;
        for key in keys {
            if let Ok(value) = map.get(&key, 0)
                && value.name.get(..value.name_len as usize).is_some_and(&doomed)
                && map.remove(&key).is_ok()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Every outcome counter, summed over the CPUs.
    pub fn counters(&self) -> Result<Vec<(Outcome, u64)>, FastPathError> {
        Outcome::ALL.iter().map(|&o| Ok((o, self.per_cpu_sum(map_names::STATS, o as u32)?))).collect()
    }

    /// Slot `index` of the per-CPU counter map `name`, summed over the
    /// CPUs.
    fn per_cpu_sum(&self, name: &'static str, index: u32) -> Result<u64, FastPathError> {
        let map = self.ebpf.map(name).ok_or(FastPathError::MissingMap(name))?;
        let counters: PerCpuArray<&MapData, u64> = PerCpuArray::try_from(map).map_err(map_err(name))?;
        Ok(counters.get(&index, 0).map_err(map_err(name))?.iter().sum())
    }

    /// Attaches the program to `interface` in `mode`. Unpinned, it stays
    /// attached until the fast path is dropped. Pinned, it replaces the
    /// program of the link a previous daemon pinned, in one step (the
    /// interface is never without one), or attaches anew; then the link is
    /// pinned and stays after the daemon, until [`FastPath::unpin`].
    pub fn attach(&mut self, interface: &str, mode: XdpMode) -> Result<(), FastPathError> {
        let Some(previous) = self.pins.as_ref().map(Pins::previous_link) else {
            self.program()?.attach(interface, mode)?;
            return Ok(());
        };
        let link_id = match previous.map(|path| take_link(&path)) {
            Some(Ok(link)) => match self.program()?.attach_to_link(link) {
                Ok(id) => {
                    tracing::info!(interface, "took over the pinned fast path: the program was swapped in place");
                    id
                }
                Err(e) => {
                    tracing::warn!(interface, error = %e, "the pinned link could not be taken over; attaching anew");
                    self.program()?.attach(interface, mode)?
                }
            },
            Some(Err(e)) => {
                tracing::warn!(interface, error = %e, "the pinned link is unusable; attaching anew");
                self.program()?.attach(interface, mode)?
            }
            None => self.program()?.attach(interface, mode)?,
        };
        let link = self.program()?.take_link(link_id)?;
        let pins = self.pins.as_ref().expect("pinned");
        let path = pins.link();
        // Links made through netlink (kernels before 5.9) cannot be pinned:
        // the fast path then goes with the daemon.
        let fd_link = FdLink::try_from(link).map_err(|source| FastPathError::Link { path: path.clone(), source })?;
        let pinned = fd_link.pin(&path).map_err(|e| FastPathError::Pin {
            path: path.clone(),
            what: "pinning the XDP link at",
            source: Some(std::io::Error::other(e)),
        })?;
        pins.remove_stale();
        self.link = Some(pinned);
        Ok(())
    }

    /// Unpins the link and the maps, for a stop that takes the fast path
    /// with it: the program is detached when the fast path is dropped.
    pub fn unpin(&mut self) -> Result<(), FastPathError> {
        if let Some(link) = self.link.take() {
            let path = self.pins.as_ref().map(Pins::link).unwrap_or_default();
            let fd_link = link.unpin().map_err(|e| FastPathError::Pin {
                path,
                what: "unpinning the XDP link at",
                source: Some(e),
            })?;
            // Closing the last descriptor detaches the program.
            drop(fd_link);
        }
        match self.pins.take() {
            Some(pins) => pins.remove(),
            None => Ok(()),
        }
    }

    /// The kernel's ID of the loaded program (what `ip link` shows attached).
    pub fn program_id(&mut self) -> Result<u32, FastPathError> {
        Ok(self.program()?.info()?.id())
    }

    /// The program, for attaching it or running it on test packets.
    pub fn program(&mut self) -> Result<&mut Xdp, FastPathError> {
        xdp(&mut self.ebpf, PROGRAM_NAME)
    }

    fn answers(&mut self) -> Result<HashMap<&mut MapData, AnswerKey, AnswerValue>, FastPathError> {
        self.map(map_names::ANSWERS)
    }

    /// Writes the program's configuration as it now is.
    fn write_config(&mut self) -> Result<(), FastPathError> {
        let config = self.config;
        let mut map: Array<_, FastPathConfig> = self.map(map_names::CONFIG)?;
        map.set(0, config, 0).map_err(map_err(map_names::CONFIG))
    }

    fn map<'a, M>(&'a mut self, name: &'static str) -> Result<M, FastPathError>
    where
        M: TryFrom<&'a mut aya::maps::Map, Error = MapError>,
    {
        let map = self.ebpf.map_mut(name).ok_or(FastPathError::MissingMap(name))?;
        M::try_from(map).map_err(map_err(name))
    }
}

/// The config entry for `settings`, with a fresh random hash key.
/// A node-wide rate shared out over the CPUs, rounded up.
fn per_cpu(per_second: u32) -> u32 {
    let cpus = aya::util::nr_cpus().map_or(1, |n| n.max(1)) as u32;
    per_second.div_ceil(cpus)
}

fn config(settings: &Settings) -> Result<FastPathConfig, FastPathError> {
    if settings.udp_port == 0 {
        return Err(FastPathError::ZeroPort);
    }
    if !(CLASSIC_UDP_LEN..=MAX_RESPONSE_LEN as u16).contains(&settings.edns_udp_size) {
        return Err(FastPathError::EdnsUdpSize(settings.edns_udp_size));
    }
    if settings.answer_capacity == 0 {
        return Err(FastPathError::ZeroCapacity);
    }
    if settings.vips.is_empty() {
        return Err(FastPathError::NoVips);
    }
    let mut config = FastPathConfig {
        hash_key: rand::random(),
        rate_limit: RateLimit::OFF,
        vips_v6: [[0; 16]; MAX_VIPS],
        vips_v4: [[0; 4]; MAX_VIPS],
        udp_port: settings.udp_port,
        edns_udp_size: settings.edns_udp_size,
        vip_v4_count: 0,
        vip_v6_count: 0,
        acl_v4_mode: ACL_OPEN,
        acl_v6_mode: ACL_OPEN,
        acl_v4_count: 0,
        acl_v6_count: 0,
        nsid_len: 0,
        nsid: [0; MAX_NSID_LEN],
        cookies: settings.cookies as u8,
        pass_only: 0,
        accept_partial_checksums: settings.accept_partial_checksums as u8,
        capture: 0,
        rrset_order: settings.rrset_order.code(),
        ifindex: settings.ifindex,
        acl_v4: [[0; 2]; MAX_INLINE_ACL_V4],
        tap_every: settings.tap.every,
        acl_v6: [[0; 4]; MAX_INLINE_ACL_V6],
        tap_per_cpu_second: per_cpu(settings.tap.per_second),
        netdev_ifindex_offset: 0,
    };
    admission(&mut config, &settings.acl, &settings.rate_limit, &settings.nsid)?;
    let (mut v4, mut v6): (Vec<[u8; 4]>, Vec<[u8; 16]>) = (Vec::new(), Vec::new());
    for vip in &settings.vips {
        match vip {
            IpAddr::V4(a) => v4.push(a.octets()),
            IpAddr::V6(a) => v6.push(a.octets()),
        }
    }
    for (family, count) in [("IPv4", v4.len()), ("IPv6", v6.len())] {
        if count > MAX_VIPS {
            return Err(FastPathError::TooManyVips { family, count });
        }
    }
    config.vips_v4[..v4.len()].copy_from_slice(&v4);
    config.vips_v6[..v6.len()].copy_from_slice(&v6);
    config.vip_v4_count = v4.len() as u8;
    config.vip_v6_count = v6.len() as u8;
    Ok(config)
}

/// Puts into `config` what a reload may change: the ACL's inline part,
/// the rate limit and the NSID.
fn admission(
    config: &mut FastPathConfig,
    acl: &Acl,
    rate_limit: &RateLimitSettings,
    nsid: &[u8],
) -> Result<(), FastPathError> {
    if nsid.len() > MAX_NSID_LEN {
        return Err(FastPathError::NsidTooLong(nsid.len()));
    }
    config.rate_limit = rate_limit.limit();
    config.nsid = [0; MAX_NSID_LEN];
    config.nsid[..nsid.len()].copy_from_slice(nsid);
    config.nsid_len = nsid.len() as u8;
    inline_acl(config, acl);
    Ok(())
}

/// How the program checks the clients of each family: open where a /0 is
/// allowed, the networks inline where they fit (the other slots zero),
/// else the tries.
fn inline_acl(config: &mut FastPathConfig, acl: &Acl) {
    (config.acl_v4, config.acl_v4_count) = ([[0; 2]; MAX_INLINE_ACL_V4], 0);
    (config.acl_v6, config.acl_v6_count) = ([[0; 4]; MAX_INLINE_ACL_V6], 0);
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for network in acl.networks() {
        match network.addr() {
            IpAddr::V4(a) => v4.push((a.octets(), network.prefix())),
            IpAddr::V6(a) => v6.push((a.octets(), network.prefix())),
        }
    }
    let mode = |networks: usize, open: bool, inline: usize| match (open, networks <= inline) {
        (true, _) => ACL_OPEN,
        (false, true) => ACL_INLINE,
        (false, false) => ACL_TRIE,
    };
    config.acl_v4_mode = mode(v4.len(), v4.iter().any(|(_, p)| *p == 0), MAX_INLINE_ACL_V4);
    config.acl_v6_mode = mode(v6.len(), v6.iter().any(|(_, p)| *p == 0), MAX_INLINE_ACL_V6);
    if config.acl_v4_mode == ACL_INLINE {
        config.acl_v4_count = v4.len() as u8;
        for (slot, (addr, prefix)) in config.acl_v4.iter_mut().zip(&v4) {
            let mask = prefix_mask::<4>(*prefix);
            let network: [u8; 4] = std::array::from_fn(|i| addr[i] & mask[i]);
            *slot = [u32::from_ne_bytes(network), u32::from_ne_bytes(mask)];
        }
    }
    if config.acl_v6_mode == ACL_INLINE {
        config.acl_v6_count = v6.len() as u8;
        for (slot, (addr, prefix)) in config.acl_v6.iter_mut().zip(&v6) {
            let mask = prefix_mask::<16>(*prefix);
            let network: [u8; 16] = std::array::from_fn(|i| addr[i] & mask[i]);
            let half = |b: &[u8; 16], at: usize| u64::from_ne_bytes(b[at..at + 8].try_into().expect("8 bytes"));
            *slot = [half(&network, 0), half(&network, 8), half(&mask, 0), half(&mask, 8)];
        }
    }
}

/// The XDP program `name` of `ebpf`.
fn xdp<'a>(ebpf: &'a mut Ebpf, name: &'static str) -> Result<&'a mut Xdp, FastPathError> {
    let program = ebpf.program_mut(name).ok_or(FastPathError::MissingProgram(name))?;
    Ok(program.try_into()?)
}

/// The XDP link pinned at `path`, unpinned: the caller holds it from here.
fn take_link(path: &Path) -> Result<XdpLink, FastPathError> {
    let link_error = |source| FastPathError::Link { path: path.to_path_buf(), source };
    let pinned = PinnedLink::from_pin(path).map_err(link_error)?;
    let fd_link = pinned.unpin().map_err(|e| FastPathError::Pin {
        path: path.to_path_buf(),
        what: "unpinning the XDP link at",
        source: Some(e),
    })?;
    XdpLink::try_from(fd_link).map_err(link_error)
}

fn load_program(ebpf: &mut Ebpf, name: &'static str) -> Result<(), FastPathError> {
    Ok(xdp(ebpf, name)?.load()?)
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn settings(vips: Vec<IpAddr>) -> Settings {
        Settings { vips, ..Settings::default() }
    }

    #[test]
    fn vips_are_split_by_family_in_order() {
        let a = IpAddr::V4(Ipv4Addr::new(6, 6, 6, 6));
        let b = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 6));
        let c = IpAddr::V4(Ipv4Addr::new(6, 6, 6, 7));
        let cfg = config(&settings(vec![a, b, c])).unwrap();
        assert_eq!((cfg.vip_v4_count, cfg.vip_v6_count), (2, 1));
        assert_eq!(cfg.vips_v4[..2], [[6, 6, 6, 6], [6, 6, 6, 7]]);
        assert_eq!(cfg.vips_v6[0][15], 6);
        assert_ne!(cfg.hash_key, config(&settings(vec![a])).unwrap().hash_key, "a fresh key per load");
    }

    #[test]
    fn small_acls_go_inline_large_ones_in_the_tries() {
        let nets = |list: &[&str]| Acl::new(list.iter().map(|n| n.parse().unwrap()).collect());
        let vip = IpAddr::V4(Ipv4Addr::new(6, 6, 6, 6));
        let with = |acl| config(&Settings { acl, ..settings(vec![vip]) }).unwrap();
        let small = with(nets(&["10.1.0.0/16", "2001:db8::/32"]));
        assert_eq!((small.acl_v4_mode, small.acl_v4_count), (ACL_INLINE, 2), "with loopback");
        assert_eq!(small.acl_v4[1], [u32::from_ne_bytes([10, 1, 0, 0]), u32::from_ne_bytes([255, 255, 0, 0])]);
        assert_eq!((small.acl_v6_mode, small.acl_v6_count), (ACL_INLINE, 2));
        assert_eq!(small.acl_v6[1][0], u64::from_ne_bytes([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0]), "network");
        assert_eq!(small.acl_v6[1][2], u64::from_ne_bytes([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), "mask");
        let open = with(nets(&["0.0.0.0/0"]));
        assert_eq!((open.acl_v4_mode, open.acl_v6_mode), (ACL_OPEN, ACL_INLINE), "IPv6 still filtered");
        let many: Vec<String> = (0..8).map(|i| format!("10.{i}.0.0/16")).collect();
        let large = with(nets(&many.iter().map(String::as_str).collect::<Vec<_>>()));
        assert_eq!(large.acl_v4_mode, ACL_TRIE, "nine networks with loopback");
    }

    #[test]
    fn bad_settings_are_refused_with_a_reason() {
        let vip = IpAddr::V4(Ipv4Addr::new(6, 6, 6, 6));
        assert!(matches!(config(&settings(vec![])), Err(FastPathError::NoVips)));
        let many = (0..=MAX_VIPS as u8).map(|i| IpAddr::V4(Ipv4Addr::new(6, 6, 6, i))).collect();
        assert!(matches!(config(&settings(many)), Err(FastPathError::TooManyVips { family: "IPv4", count: 9 })));
        let zero_port = Settings { udp_port: 0, ..settings(vec![vip]) };
        assert!(matches!(config(&zero_port), Err(FastPathError::ZeroPort)));
        let small = Settings { edns_udp_size: 511, ..settings(vec![vip]) };
        assert!(matches!(config(&small), Err(FastPathError::EdnsUdpSize(511))));
        let large = Settings { edns_udp_size: 4096, ..settings(vec![vip]) };
        assert!(matches!(config(&large), Err(FastPathError::EdnsUdpSize(4096))));
        let empty = Settings { answer_capacity: 0, ..settings(vec![vip]) };
        assert!(matches!(config(&empty), Err(FastPathError::ZeroCapacity)));
    }
}
