# The cargo side, each derivation starting from the previous one's target directory
# (cargoArtifacts): third-party dependencies, then maou_io, then maou_index. The rlib
# derivations see a dummy workspace with only their own crates' real sources, so an edit
# to maou_rust alone rebuilds neither of them.
{
  pkgs,
  craneLib,
  source,
}: let
  inherit (pkgs) lib;
  src = source.full;
  # Every crate from Cargo.lock, fetched by hash: the builds below run offline.
  cargoVendorDir = craneLib.vendorCargoDeps {inherit src;};
  target = pkgs.stdenv.hostPlatform.rust.rustcTarget;
  # Flags are part of every crate's fingerprint, so all derivations of the chain pass the
  # same ones. Through --config, they add to .cargo/config.toml's lld flags instead of
  # replacing them. Vendored sources appear in panic messages; /cargo keeps the store out.
  cargoExtraArgs = lib.concatStringsSep " " [
    "--locked"
    "--target ${target}"
    "--config 'target.${target}.rustflags=[\"--remap-path-prefix=${cargoVendorDir}=/cargo\"]'"
  ];
  common = {
    inherit src cargoVendorDir cargoExtraArgs;
    inherit (source) version;
    pname = source.name;
    strictDeps = true;
    # .cargo/config.toml links with lld (the seed's linker).
    nativeBuildInputs = [pkgs.lld];
  };

  # A dummy workspace (every target stubbed, as buildDepsOnly sees it) with the real
  # sources of `crates` laid over it.
  withRealCrates = crates:
    craneLib.mkDummySrc {
      inherit src;
      extraDummyScript =
        lib.concatMapStrings (crate: ''
          rm -rf $out/rust/${crate}
          cp -r --no-preserve=mode ${source.crate crate}/rust/${crate} $out/rust/${crate}
        '')
        crates;
    };

  rlib = {
    pname,
    crates,
    cargoArtifacts,
  }:
    craneLib.cargoBuild (common
      // {
        inherit pname cargoArtifacts;
        src = withRealCrates crates;
        cargoExtraArgs = "${cargoExtraArgs} -p ${lib.last crates}";
        doCheck = false;
      });

  maou-deps = craneLib.buildDepsOnly (common // {pname = "maou-deps";});
  maou-io = rlib {
    pname = "maou-io";
    crates = ["maou_io"];
    cargoArtifacts = maou-deps;
  };
  maou-index = rlib {
    pname = "maou-index";
    crates = ["maou_io" "maou_index"];
    cargoArtifacts = maou-io;
  };
  maou-build = craneLib.buildPackage (common
    // {
      pname = "maou-build";
      cargoArtifacts = maou-deps;
      cargoExtraArgs = "${cargoExtraArgs} -p maou-build";
      doCheck = false;
      meta.mainProgram = "maou-build";
    });
in {
  inherit common maou-deps maou-io maou-index maou-build;
}
