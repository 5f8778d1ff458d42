# The release wheels: maturin with Cargo.toml's release profile (thin LTO), linking for
# glibc 2.28 through zig, offline against the vendored crates, starting from maou_index's
# target directory. Then `maou-build audit --repair`: no /nix/store path may survive in a
# wheel that Colab installs, and a wheel that cannot be repaired fails the build.
{
  pkgs,
  craneLib,
  source,
  workspace,
}: let
  wheel = python:
    craneLib.mkCargoDerivation (workspace.common
      // {
        pname = "wheel-cp${builtins.replaceStrings ["."] [""] python.pythonVersion}";
        cargoArtifacts = workspace.maou-index;
        nativeBuildInputs =
          workspace.common.nativeBuildInputs
          ++ [pkgs.maturin pkgs.cargo-zigbuild pkgs.zig python workspace.maou-build];
        # zig and cargo-zigbuild keep caches under HOME, which the sandbox does not have.
        preBuild = ''
          export HOME=$TMPDIR
          export ZIG_GLOBAL_CACHE_DIR=$TMPDIR/zig-cache
        '';
        buildPhaseCargoCommand = ''
          maturin build --release --offline --zig --compatibility manylinux_2_28 \
            --interpreter ${python.interpreter} --out dist ${workspace.common.cargoExtraArgs}
        '';
        doInstallCargoArtifacts = false;
        installPhaseCommand = ''
          mkdir -p $out
          cp dist/*.whl $out/
          maou-build audit --repair --module ${source.module} $out/*.whl
        '';
        passthru = {inherit python;};
      });
  wheel-cp311 = wheel pkgs.python311;
  wheel-cp312 = wheel pkgs.python312;
in {
  inherit wheel-cp311 wheel-cp312;
  wheels = pkgs.symlinkJoin {
    name = "maou-wheels";
    paths = [wheel-cp311 wheel-cp312];
  };
}
