# Sourced by the scripts: the seed's build environment (layer 3). sccache wraps rustc,
# incremental compilation is off (sccache cannot cache it), and the cache lives under
# ~/.cache so that it survives the checkout.
export RUSTC_WRAPPER="${RUSTC_WRAPPER-sccache}"
export CARGO_INCREMENTAL=0
export SCCACHE_DIR="${SCCACHE_DIR:-$HOME/.cache/sccache}"
export SCCACHE_CACHE_SIZE="${SCCACHE_CACHE_SIZE:-1G}"
