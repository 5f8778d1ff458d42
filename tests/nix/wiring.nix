# The flake's wiring, evaluated against the stand-ins beside this file: which outputs
# exist and what each builder received. A wiring test, not a build: nothing is compiled
# or fetched. `nix-instantiate --eval --strict --json tests/nix/wiring.nix`; tests/nix.rs
# reads the result.
let
  flake = import ../../flake.nix;
  outputs = flake.outputs {
    nixpkgs = import ./nixpkgs.nix;
    crane = import ./crane.nix;
    fenix = import ./fenix.nix;
  };
  system = "x86_64-linux";
  packages = outputs.packages.${system};
  names = builtins.attrNames;
  step = drv: {
    inherit (drv) kind;
    pname = drv.args.pname;
    from =
      if drv.args ? cargoArtifacts
      then drv.args.cargoArtifacts.args.pname
      else null;
    cargoExtraArgs = drv.args.cargoExtraArgs or null;
  };
  wheel = drv: {
    inherit (step drv) kind pname from;
    python = drv.args.passthru.python.pythonVersion;
    build = drv.args.buildPhaseCargoCommand;
    install = drv.args.installPhaseCommand;
    tools = map (d: d.name) drv.args.nativeBuildInputs;
  };
  shell = outputs.devShells.${system}.default;
  checks = outputs.checks.${system};
in {
  inputs = flake.inputs;
  systems = names outputs.packages;
  packages = names packages;
  default = packages.default.name;
  apps = builtins.mapAttrs (_: app: {inherit (app) type program;}) outputs.apps.${system};
  devShells = names outputs.devShells.${system};
  checks = names checks;
  toolchain = packages.maou-io.toolchain;
  chain = builtins.mapAttrs (_: step) {
    inherit (packages) maou-deps maou-io maou-index maou-build;
  };
  fullSource = packages.maou-deps.args.src.files;
  rlibSources = {
    maou-io = {
      dummyOf = packages.maou-io.args.src.args.src.files;
      laidOver = packages.maou-io.args.src.args.extraDummyScript;
    };
    maou-index = {
      dummyOf = packages.maou-index.args.src.args.src.files;
      laidOver = packages.maou-index.args.src.args.extraDummyScript;
    };
  };
  wheels = builtins.mapAttrs (_: wheel) {
    inherit (packages) wheel-cp311 wheel-cp312;
  };
  wheelsJoined = map (d: d.name) packages.wheels.args.paths;
  devShell = {
    inherit (shell.args) env shellHook;
    packages = map (p: p.name) shell.args.packages;
  };
  checkDetails = {
    audit = checks.wheels-audit.script;
    tests = checks.tests.args.cargoTestExtraArgs;
    clippy = checks.clippy.args.cargoClippyExtraArgs;
    testSource = checks.tests.args.src.files;
  };
}
