# `nix develop`: the pinned toolchain and every tool of the edit loop, with the dev
# environment that keeps rebuilds cached and a cold build within 4 GB (sccache,
# non-incremental, 16 codegen units), the CPythons requires-python allows, and two lines
# on entry.
{
  pkgs,
  craneLib,
  pythons,
  maou-build,
}:
craneLib.devShell {
  packages =
    [
      pkgs.lld
      pkgs.sccache
      pkgs.maturin
      pkgs.uv
      pkgs.zig
      pkgs.gh
      maou-build
    ]
    ++ pythons;
  env = {
    RUSTC_WRAPPER = "sccache";
    SCCACHE_CACHE_SIZE = "1G";
  };
  # HOME is only known when the shell starts.
  shellHook = ''
    export SCCACHE_DIR="''${SCCACHE_DIR:-$HOME/.cache/sccache}"
    echo "maou dev shell: $(rustc --version), lld, sccache"
    echo "sccache cache: $SCCACHE_DIR (1G); build with: maou-build develop"
  '';
}
