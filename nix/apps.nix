# `nix run .#publish-latest`: the wheels built by this flake onto the `latest` release.
# cargo (the toolchain) lets maou-build read the workspace in the checkout, so that the
# release records the key of the Rust inputs the wheels were built from.
{
  pkgs,
  maou-build,
  toolchain,
  wheels,
}: {
  publish-latest = {
    type = "app";
    program = pkgs.lib.getExe (pkgs.writeShellApplication {
      name = "publish-latest";
      runtimeInputs = [maou-build pkgs.git toolchain];
      text = ''
        exec maou-build publish-latest --dist ${wheels} "$@"
      '';
    });
    meta.description = "Put the flake's audited wheels on the GitHub Release `latest`, in place";
  };
}
