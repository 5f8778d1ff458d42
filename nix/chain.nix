# UC2's CI chain: each derivation starts from the previous one's target directory
# (cargoArtifacts): the product's third-party crates (maou-deps), then each rlib crate
# (maou-io, maou-index), then the wheels, built by `maou-build wheel`.
#
# Cargo reuses an artifact only when everything that goes into its fingerprint is the
# same: target, rustflags, linker and the C compiler build scripts use, PyO3's settings,
# profile, features and the packages selected. So every step runs the very maturin build
# that `maou-build wheel` runs (src/release_build/): the same command line, in the same
# directory, with the same interpreter. Steps before the wheels see crane's dummy
# workspace (every crate's sources stubbed), with the real sources of the crates they are
# about laid over it, and a pyproject.toml reduced to what maturin's build reads.
{
  pkgs,
  craneLib,
  product,
}: let
  inherit (pkgs) lib;
  target = pkgs.stdenv.hostPlatform.rust.rustcTarget;
  pythons = map (v: pkgs."python3${lib.versions.minor v}") product.pythons;
  # The chain builds with the oldest CPython, as `maou-build wheel` builds it first.
  python = lib.head pythons;

  cargoVendorDir = craneLib.vendorCargoDeps {inherit (product) cargoLock;};
  # Where crane's vendor directory keeps crates.io's crates (vendorCargoRegistries names
  # it by the registry's hash). `maou-build wheel` finds the same directory through
  # `cargo metadata` and remaps it alike: /cargo/registry in every panic message.
  registry = "${cargoVendorDir}/${builtins.hashString "sha256" "registry+https://github.com/rust-lang/crates.io-index"}";
  remap = "target.${target}.rustflags=[\"--remap-path-prefix=${registry}=/cargo/registry\"]";
  features =
    if product.releaseFeatures != []
    then "--features ${lib.concatStringsSep "," product.releaseFeatures}"
    else lib.optionalString product.maturinNamesFeatures "--features ''";
  bundled = import ./bundled.nix {inherit pkgs product;};
  # maturin grafts the pinned libraries (bundled.nix), and only those; else it checks.
  auditwheel =
    if bundled.any
    then "repair"
    else "check";
  maturinBuild = lib.concatStringsSep " " [
    "maturin build --release --zig --compatibility ${product.platform}"
    "--auditwheel ${auditwheel} --interpreter ${python.interpreter}"
    "--config ${lib.escapeShellArg remap} ${features}"
    "--out \"$TMPDIR/wheels\" --jobs \"$NIX_BUILD_CORES\""
  ];

  common = {
    inherit cargoVendorDir;
    inherit (product) version;
    strictDeps = true;
    # One target directory for cargo, crane's hooks and maou-build: the source root's.
    CARGO_TARGET_DIR = "target";
    nativeBuildInputs = [pkgs.lld pkgs.maturin pkgs.zig python] ++ bundled.nativeBuildInputs;
    # maturin's zig wrappers live under HOME; the same path in every step keeps the
    # linker, part of every fingerprint, the same. So do the pinned libraries' variables.
    preBuild =
      ''
        export HOME=$TMPDIR
        export ZIG_GLOBAL_CACHE_DIR=$TMPDIR/zig-cache
      ''
      + bundled.setup;
    doCheck = false;
  };

  # crane's dummy workspace, with the pyproject.toml maturin needs, an empty Python
  # package, and the real sources of `dirs`.
  dummySrc = dirs:
    craneLib.mkDummySrc {
      inherit (product) src;
      extraDummyScript =
        ''
          cp ${product.lockSrc}/${product.lockPath} $out/${product.lockPath}
          cp ${craneLib.writeTOML "pyproject.toml" product.buildPyproject} $out/pyproject.toml
          mkdir -p $out/${product.packageDir}
          touch $out/${product.packageDir}/__init__.py
        ''
        + lib.concatMapStrings (dir: ''
          rm -rf $out/${dir}
          cp -r --no-preserve=mode ${product.crate dir}/${dir} $out/${dir}
        '')
        dirs;
    };

  pname = dir: builtins.replaceStrings ["_"] ["-"] (product.crateName dir);

  maou-deps = craneLib.buildDepsOnly (common
    // {
      pname = "${product.name}-deps";
      dummySrc = dummySrc [];
      buildPhaseCargoCommand = maturinBuild;
    });

  # One derivation per rlib, each on the one before, each adding its crate's sources.
  rlibSteps =
    lib.foldl (
      acc: dir: let
        dirs = acc.dirs ++ [dir];
        step = craneLib.mkCargoDerivation (common
          // {
            pname = pname dir;
            src = dummySrc dirs;
            cargoArtifacts = acc.last;
            buildPhaseCargoCommand = maturinBuild;
          });
      in {
        inherit dirs;
        last = step;
        steps = acc.steps // {${pname dir} = step;};
      }
    ) {
      dirs = [];
      last = maou-deps;
      steps = {};
    }
    product.rlibDirs;
in {
  inherit maou-deps pythons;
  lastRlib = rlibSteps.last;
  rlibs = rlibSteps.steps;
  # For the wheels derivation (wheels.nix): the same environment.
  inherit common;
}
