# Sourced by the scripts: the seed's build environment (layer 3). sccache wraps rustc,
# incremental compilation is off (sccache cannot cache it), and the cache lives under
# ~/.cache so that it survives the checkout.
if [ -z "${RUSTC_WRAPPER+set}" ]; then
    RUSTC_WRAPPER=$(command -v sccache || echo sccache)
    # A pyenv shim would start bash and pyenv for every crate: use the real binary.
    case "$RUSTC_WRAPPER" in
        */shims/sccache) RUSTC_WRAPPER=$(pyenv which sccache 2>/dev/null || echo "$RUSTC_WRAPPER") ;;
    esac
    export RUSTC_WRAPPER
fi
export CARGO_INCREMENTAL=0
export SCCACHE_DIR="${SCCACHE_DIR:-$HOME/.cache/sccache}"
export SCCACHE_CACHE_SIZE="${SCCACHE_CACHE_SIZE:-1G}"
