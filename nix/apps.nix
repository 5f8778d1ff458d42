# `nix run .#publish-latest`: the wheels built by this flake onto the `latest` release.
{
  pkgs,
  maou-build,
  wheels,
}: {
  publish-latest = {
    type = "app";
    program = pkgs.lib.getExe (pkgs.writeShellApplication {
      name = "publish-latest";
      runtimeInputs = [maou-build pkgs.git];
      text = ''
        exec maou-build publish-latest --dist ${wheels} "$@"
      '';
    });
    meta.description = "Put the flake's audited wheels on the GitHub Release `latest`, in place";
  };
}
