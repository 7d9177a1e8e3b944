//! Enums whose variants are counted and labelled (metrics, logs): one
//! declaration gives the enum, `ALL` (every variant, in declaration order)
//! and `name()` (the stable label of each).

/// Declares an enum with `ALL` and `name()`:
///
/// ```
/// anycast_common::named! {
///     /// How an exchange ended.
///     #[derive(Clone, Copy, Debug, PartialEq, Eq)]
///     pub enum Ending {
///         /// A usable reply.
///         Answered = "answered",
///         Timeout = "timeout",
///     }
/// }
/// assert_eq!(Ending::ALL.map(Ending::name), ["answered", "timeout"]);
/// ```
#[macro_export]
macro_rules! named {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $label:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$($label),+].len()] = [$($name::$variant),+];

            /// The stable label, for metrics and logs.
            pub const fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }
        }
    };
}
