# Stand-in for crane: each builder returns a record of its arguments and of the toolchain
# it was given, so the wiring test can see what nix/ passed.
let
  withToolchain = toolchain: let
    record = kind: args: {
      type = "derivation";
      inherit kind args toolchain;
      name = args.pname or kind;
      outPath = "/nix/store/stand-in-${kind}-${args.pname or kind}";
      meta = args.meta or {};
    };
  in {
    overrideToolchain = withToolchain;
    buildDepsOnly = record "buildDepsOnly";
    buildPackage = record "buildPackage";
    cargoBuild = record "cargoBuild";
    cargoClippy = record "cargoClippy";
    cargoFmt = record "cargoFmt";
    cargoTest = record "cargoTest";
    devShell = record "devShell";
    mkCargoDerivation = record "mkCargoDerivation";
    mkDummySrc = record "mkDummySrc";
    vendorCargoDeps = record "vendorCargoDeps";
  };
in {
  mkLib = _pkgs: withToolchain null;
}
