# The CPython minor versions a PEP 440 `requires-python` allows (3.7 to 3.15, oldest
# first), as maou-build's `python.rs` reads the same field: the flake builds wheels for
# exactly the CPythons `maou-build wheel` would.
{lib}: spec: let
  inherit (lib) all any elemAt filter length map range splitString take trim;
  pad = v: let
    parts = splitString "." v;
  in
    parts ++ lib.genList (_: "0") (3 - length parts);
  cmp = a: b: builtins.compareVersions (lib.concatStringsSep "." (pad a)) (lib.concatStringsSep "." (pad b));
  prefixOf = n: a: b: take n (pad a) == take n (pad b);
  clause = text: let
    m = builtins.match "(~=|>=|<=|==|!=|>|<)[[:space:]]*([0-9]+(\\.[0-9]+)*)(\\.\\*)?" text;
  in
    if m == null
    then throw "requires-python: `${text}` in `${spec}` is not a clause maou-build understands"
    else {
      op = elemAt m 0;
      version = elemAt m 1;
      wildcard = elemAt m 3 != null;
    };
  matches = c: v: let
    n = length (splitString "." c.version);
    o = cmp v c.version;
  in
    if c.wildcard
    then
      (
        if c.op == "=="
        then prefixOf n v c.version
        else !(prefixOf n v c.version)
      )
    else if c.op == ">="
    then o >= 0
    else if c.op == ">"
    then o > 0
    else if c.op == "<="
    then o <= 0
    else if c.op == "<"
    then o < 0
    else if c.op == "=="
    then o == 0
    else if c.op == "!="
    then o != 0
    else o >= 0 && prefixOf (lib.max 1 (n - 1)) v c.version;
  clauses = map clause (filter (c: c != "") (map trim (splitString "," spec)));
  allows = v: all (c: matches c v) clauses;
in
  filter (minor: any (patch: allows "${minor}.${patch}") ["0" "1" "99"])
  (map (n: "3.${toString n}") (range 7 15))
