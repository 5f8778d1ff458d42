# Stand-in for nixpkgs' lib: only the functions flake.nix and nix/ call, written out.
# Filesets become the list of their files relative to the root.
let
  relative = root: path: let
    r = toString root;
    p = toString path;
  in
    builtins.substring (builtins.stringLength r + 1) (builtins.stringLength p) p;
  filesOf = set:
    if set ? _files
    then set._files
    else [set];
in {
  genAttrs = names: f:
    builtins.listToAttrs (map (name: {
        inherit name;
        value = f name;
      })
      names);
  inherit (builtins) concatStringsSep;
  concatMapStrings = f: list: builtins.concatStringsSep "" (map f list);
  last = list: builtins.elemAt list (builtins.length list - 1);
  # The script's text rides along after `#`, so the wiring test can read what it runs.
  getExe = drv: "${drv}/bin/${drv.meta.mainProgram}#${drv.args.text or ""}";
  fileset = {
    unions = sets: {_files = builtins.concatMap filesOf sets;};
    toSource = {
      root,
      fileset,
    }: let
      files = map (relative root) (filesOf fileset);
    in {
      inherit files;
      outPath = "/nix/store/stand-in-source[${builtins.concatStringsSep "," files}]";
    };
  };
}
