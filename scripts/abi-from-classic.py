#!/usr/bin/env python3
"""Writes c-tests/abi/classic/<stem>.c: what the openais 0.80.6 headers
declare, as ABI checks of our headers.

    scripts/abi-from-classic.py <classic-src-dir> [<out-dir>]

Run once by hand against a built openais 0.80.6 tree (its include/ and
lib/*.so.2.0.0; default out-dir c-tests/abi/classic). The output is
committed; `make check` builds and runs it (c-tests/run-abi.sh) and never
needs this script, pycparser, readelf or the classic tree.

For each header of rust/capi/headers.list that the classic tree has, the
facts are taken from the classic header alone:
  - names, field names and declared types, prototypes: parsed with
    pycparser from the classic header (preprocessed by gcc, keeping only
    the classic files' own lines, system types stubbed);
  - sizes, alignments, offsets, enum and macro values, macro types:
    printed by a probe program compiled with gcc against the classic
    header (the numbers are this machine's: x86_64 / LP64).
The generated test includes only our header and checks, item by item:
every typedef's size and type, every struct's size, alignment, field
offsets, sizes and types, every enumerator's value (and, in C++, that the
type is an enum), every macro's value and type (or text, for brace
initializers and strings), and every function prototype (each one is
re-declared as the classic header declares it: a conflicting
redeclaration is a compile error, so the check holds for a function our
header does not declare yet the day it does). Items listed in
c-tests/abi/classic/skip.h (`#define ABI_SKIP_<name>`) are left out, each
with its reason; for a function, only the check that our header declares
it is left out.

From the classic shared libraries it writes libraries.txt (soname and
version nodes of each library of rust/capi/libraries.list) and
symbols.txt (each API function and the version node it is defined in),
which c-tests/run-abi.sh compares with libraries.list and symbols/: a
binary linked against the classic libraries asks for `name@node` and must
find it in ours.
"""

import os
import re
import subprocess
import sys
import tempfile

from pycparser import c_ast, c_generator, c_parser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Types the classic headers take from system headers, for the parser only
# (the probe compiles the real headers).
PRELUDE = """# 1 "<prelude>"
typedef signed char int8_t; typedef short int16_t; typedef int int32_t; typedef long int64_t;
typedef unsigned char uint8_t; typedef unsigned short uint16_t; typedef unsigned int uint32_t;
typedef unsigned long uint64_t; typedef unsigned char u_int8_t; typedef unsigned short u_int16_t;
typedef unsigned int u_int32_t; typedef unsigned long u_int64_t; typedef unsigned long size_t;
typedef long ssize_t; typedef int pid_t;
struct iovec { void *iov_base; size_t iov_len; };
struct in6_addr { unsigned char s6_addr[16]; };
"""

# The classic SA headers other than saAis.h and saClm.h/saEvt.h do not
# include saAis.h themselves; programs include it first.
PREFIX = {
    "evs.h": "#include <sys/uio.h>\n",
    "cpg.h": "#include <stdint.h>\n#include <sys/uio.h>\n",
}

# Expression types a macro may have, for _Generic.
SCALARS = [
    "char", "signed char", "unsigned char", "short", "unsigned short", "int", "unsigned int",
    "long", "unsigned long", "long long", "unsigned long long", "float", "double",
]


def headers():
    out = []
    with open(os.path.join(ROOT, "rust/capi/headers.list")) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if line:
                out.append(line[0])
    return out


def tu_text(header):
    if header.startswith("sa"):
        return '#include "saAis.h"\n#include "%s"\n' % header
    return PREFIX.get(header, "") + '#include "%s"\n' % header


def preprocess(classic, header):
    """The header's own C text (classic files only, with line markers) and
    its object-like macros [(name, body)] in order."""
    src = tu_text(header)
    out = subprocess.run(["gcc", "-E", "-dD", "-I", classic, "-x", "c", "-"], input=src,
                         capture_output=True, text=True, check=True).stdout
    current = None
    keep = []
    macros = []
    for line in out.splitlines():
        m = re.match(r'# (\d+) "([^"]*)"', line)
        if m:
            current = m.group(2)
            if os.path.dirname(os.path.abspath(current)) == os.path.abspath(classic):
                keep.append('# %s "%s"' % (m.group(1), os.path.basename(current)))
            continue
        if current is None or os.path.dirname(os.path.abspath(current)) != os.path.abspath(classic):
            continue
        if line.startswith("#define ") or line.startswith("#undef "):
            if line.startswith("#define ") and os.path.basename(current) == header:
                m = re.match(r"#define (\w+)(\(?)\s*(.*)$", line)
                if m.group(2):
                    raise SystemExit("%s: function-like macro %s: not handled" % (header, m.group(1)))
                if m.group(3).strip():  # an include guard has no body
                    macros.append((m.group(1), m.group(3).strip()))
            keep.append("")
            continue
        keep.append(line)
    return "\n".join(keep) + "\n", macros


def type_text(node_type, name=None):
    """C text of a declaration of `name` (or an abstract type name) with
    the given pycparser type node."""
    gen = c_generator.CGenerator()
    decl = c_ast.Decl(name=name, quals=[], align=[], storage=[], funcspec=[], type=_renamed(node_type, name),
                      init=None, bitsize=None)
    text = gen.visit(decl)
    return re.sub(r"\s+", " ", text).strip()


def _renamed(node, name):
    """A copy of the declarator chain with the innermost declname set."""
    import copy
    node = copy.deepcopy(node)
    n = node
    while True:
        if isinstance(n, c_ast.TypeDecl):
            n.declname = name
            return node
        n = n.type


def parse(header, text):
    ast = c_parser.CParser().parse(PRELUDE + text, filename=header)
    facts = {"typedefs": [], "structs": [], "enums": [], "functions": []}
    for ext in ast.ext:
        if ext.coord is None or os.path.basename(ext.coord.file) != header:
            continue
        if isinstance(ext, c_ast.Typedef):
            t = ext.type
            inner = t.type if isinstance(t, c_ast.TypeDecl) else None
            # A typedef of an anonymous union is checked like a struct (two
            # anonymous unions are never the same type in C).
            if isinstance(inner, (c_ast.Struct, c_ast.Union)) and inner.decls is not None:
                facts["structs"].append((ext.name, fields(header, inner)))
            elif isinstance(inner, c_ast.Enum) and inner.values is not None:
                facts["enums"].append((ext.name, [e.name for e in inner.values.enumerators]))
            else:
                facts["typedefs"].append((ext.name, ext.type))
        elif isinstance(ext, c_ast.Decl) and isinstance(ext.type, c_ast.FuncDecl):
            facts["functions"].append((ext.name, type_text(ext.type, ext.name)))
        elif isinstance(ext, c_ast.Decl) and isinstance(ext.type, c_ast.Struct) and ext.type.decls is not None:
            facts["structs"].append(("struct " + ext.type.name, fields(header, ext.type)))
        elif isinstance(ext, c_ast.Decl) and isinstance(ext.type, c_ast.Enum) and ext.type.values is not None:
            facts["enums"].append(("enum " + ext.type.name, [e.name for e in ext.type.values.enumerators]))
        else:
            raise SystemExit("%s:%s: declaration not handled: %s" % (header, ext.coord, ext))
    return facts


def fields(header, struct):
    out = []
    for d in struct.decls:
        if d.name is None or d.bitsize is not None:
            raise SystemExit("%s: anonymous member or bit-field in %s: not handled" % (header, struct.name))
        out.append((d.name, d.type))
    return out


def probe(classic, header, facts, macros):
    """Compiles and runs a program against the classic header printing
    the numbers; returns {key: value}."""
    lines = [tu_text(header), "#include <stdio.h>", "#include <stddef.h>", "#include <string.h>",
             "#define TYPE_NAME(x) _Generic((x), " +
             ", ".join('%s: "%s"' % (t, t) for t in SCALARS) + ', default: "other")',
             "int main(void) {"]
    for name, _ in facts["typedefs"] + [(s, None) for s, _ in facts["structs"]] + \
            [(e, None) for e, _ in facts["enums"]]:
        lines.append('printf("size|%s|%%zu %%zu\\n", sizeof(%s), _Alignof(%s));' % (name, name, name))
    for sname, flds in facts["structs"]:
        for f, _ in flds:
            lines.append('printf("field|%s.%s|%%zu %%zu\\n", offsetof(%s, %s), sizeof(((%s *)0)->%s));'
                         % (sname, f, sname, f, sname, f))
    for _, names in facts["enums"]:
        for e in names:
            lines.append('printf("enum|%s|%%lld\\n", (long long)%s);' % (e, e))
    for name, body in macros:
        if body.startswith("{"):
            continue
        if body.startswith('"'):
            lines.append('printf("string|%s|%%zu\\n", sizeof(%s));' % (name, name))
            continue
        lines.append('printf("macro|%s|%%llu %%s\\n", (unsigned long long)(%s), TYPE_NAME(%s));'
                     % (name, name, name))
    lines += ["return 0;", "}"]
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        subprocess.run(["gcc", "-std=gnu11", "-w", "-I", classic, "-o", os.path.join(tmp, "probe"), src],
                       check=True)
        out = subprocess.run([os.path.join(tmp, "probe")], capture_output=True, text=True,
                             check=True).stdout
    values = {}
    for line in out.splitlines():
        kind, key, rest = line.split("|", 2)
        values[(kind, key)] = rest.split(" ")
    return values


def ident(s):
    return re.sub(r"\W", "_", s)


def generate(header, facts, macros, values):
    stem = header[:-2]
    w = []
    w.append("/*")
    w.append(" * Generated by scripts/abi-from-classic.py from the openais 0.80.6 %s" % header)
    w.append(" * (x86_64, LP64): do not edit; rerun the script. Checks our <corosync/%s>" % header)
    w.append(" * item by item against what the classic header declares. Items left")
    w.append(" * out are listed, with the reason, in skip.h.")
    w.append(" */")
    w.append("#include <corosync/%s>" % header)
    w.append("")
    w.append('#include "../abi_check.h"')
    w.append('#include "skip.h"')
    w.append("#include <string.h>")
    w.append("")
    w.append("/* ABI_TYPE(ours, classic): the two are the same type. */")
    w.append("#ifdef __cplusplus")
    w.append("#define ABI_TYPE(a, b) ABI_TRUE((abi_same<a, b>::value))")
    w.append("#else")
    w.append("#define ABI_TYPE(a, b) ABI_TRUE(__builtin_types_compatible_p(a, b))")
    w.append("#endif")
    w.append("#define ABI_STR_(...) #__VA_ARGS__")
    w.append("#define ABI_STR(...) ABI_STR_(__VA_ARGS__)")
    w.append("")
    w.append("/* The classic types, to compare ours with. */")
    for name, t in facts["typedefs"]:
        w.append("#ifndef ABI_SKIP_%s" % ident(name))
        w.append("typedef %s;" % type_text(t, "abi_classic_" + ident(name)))
        w.append("#endif")
    for sname, flds in facts["structs"]:
        w.append("#ifndef ABI_SKIP_%s" % ident(sname))
        for f, t in flds:
            w.append("typedef %s;" % type_text(t, "abi_classic_%s__%s" % (ident(sname), f)))
        w.append("#endif")
    w.append("")
    w.append("/* Each function is declared by our header: an undeclared name does not")
    w.append(" * compile (sizeof: no reference to link). Before the redeclarations below. */")
    w.append("#define ABI_DECLARED(f) ABI_EQ(sizeof(&f), sizeof(void (*)(void)))")
    w.append("static void declared(void)")
    w.append("{")
    for name, _ in facts["functions"]:
        w.append("#ifndef ABI_SKIP_%s" % name)
        w.append("    ABI_DECLARED(%s);" % name)
        w.append("#endif")
    w.append("}")
    w.append("")
    w.append("/* The classic prototypes: a conflicting redeclaration does not compile. */")
    w.append("#ifdef __cplusplus")
    w.append('extern "C" {')
    w.append("#endif")
    for name, proto in facts["functions"]:
        w.append("%s;" % proto)
    w.append("#ifdef __cplusplus")
    w.append("}")
    w.append("#endif")
    w.append("")
    w.append("static void typedefs(void)")
    w.append("{")
    for name, _ in facts["typedefs"]:
        size, align = values[("size", name)]
        w.append("#ifndef ABI_SKIP_%s" % ident(name))
        w.append("    ABI_SIZE(%s, %s);" % (name, size))
        w.append("    ABI_ALIGN(%s, %s);" % (name, align))
        w.append("    ABI_TYPE(%s, abi_classic_%s);" % (name, ident(name)))
        w.append("#endif")
    w.append("}")
    w.append("")
    w.append("static void structs(void)")
    w.append("{")
    for sname, flds in facts["structs"]:
        size, align = values[("size", sname)]
        w.append("#ifndef ABI_SKIP_%s" % ident(sname))
        w.append("    ABI_SIZE(%s, %s);" % (sname, size))
        w.append("    ABI_ALIGN(%s, %s);" % (sname, align))
        for f, _ in flds:
            off, fsize = values[("field", "%s.%s" % (sname, f))]
            w.append("    ABI_FIELD(%s, %s, %s, %s);" % (sname, f, off, fsize))
            w.append("    ABI_TYPE(__typeof__(((%s *)0)->%s), abi_classic_%s__%s);" % (sname, f, ident(sname), f))
        w.append("#endif")
    w.append("}")
    w.append("")
    w.append("static void enums(void)")
    w.append("{")
    for ename, names in facts["enums"]:
        size, align = values[("size", ename)]
        w.append("#ifndef ABI_SKIP_%s" % ident(ename))
        w.append("    ABI_IS_ENUM(%s);" % ename)
        w.append("    ABI_SIZE(%s, %s);" % (ename, size))
        w.append("    ABI_ALIGN(%s, %s);" % (ename, align))
        for e in names:
            (v,) = values[("enum", e)]
            w.append("    ABI_EQ(%s, %s);" % (e, v))
        w.append("#endif")
    w.append("}")
    w.append("")
    w.append("static void macros(void)")
    w.append("{")
    for name, body in macros:
        w.append("#ifndef ABI_SKIP_%s" % name)
        if body.startswith("{"):
            text = re.sub(r"\s+", " ", body)
            w.append('    ABI_TRUE(strcmp(ABI_STR(%s), "%s") == 0);' % (name, text))
        elif body.startswith('"'):
            (size,) = values[("string", name)]
            w.append("    ABI_EQ(sizeof(%s), %s);" % (name, size))
            w.append("    ABI_TRUE(strcmp(%s, %s) == 0);" % (name, body))
        else:
            v, t = values[("macro", name)][0], " ".join(values[("macro", name)][1:])
            suffix = "ull" if int(v) > 0x7FFFFFFFFFFFFFFF else ""
            w.append("    ABI_EQ(%s, %s%s);" % (name, v, suffix))
            w.append("    ABI_EXPR_TYPE(%s, %s);" % (name, t))
        w.append("#endif")
    w.append("}")
    w.append("")
    w.append("int main(void)")
    w.append("{")
    w.append("    declared();")
    w.append("    typedefs();")
    w.append("    structs();")
    w.append("    enums();")
    w.append("    macros();")
    w.append('    return ABI_DONE("classic %s");' % stem)
    w.append("}")
    return "\n".join(w) + "\n"


def libraries():
    out = []
    with open(os.path.join(ROOT, "rust/capi/libraries.list")) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if line:
                out.append(line[0])
    return out


def readelf(args, path):
    return subprocess.run(["readelf", "-W"] + args + [path], capture_output=True, text=True,
                          check=True).stdout


def library_facts(lib_dir, out_dir):
    """libraries.txt and symbols.txt from the classic shared libraries."""
    libs = []
    symbols = set()
    for name in libraries():
        path = os.path.join(lib_dir, "lib%s.so.2.0.0" % name)
        soname = re.search(r"\(SONAME\).*\[(.*)\]", readelf(["-d"], path)).group(1)
        nodes = []
        section = readelf(["-V"], path).split("Version definition section", 1)[1]
        section = section.split("Version symbols section", 1)[0].split("Version needs section", 1)[0]
        for m in re.finditer(r"Flags: (\w+)\s+Index: \d+\s+Cnt: \d+\s+Name: (\S+)", section):
            if m.group(1) != "BASE":
                nodes.append(m.group(2))
        libs.append("%s %s" % (soname, ",".join(sorted(nodes))))
        for line in readelf(["--dyn-syms"], path).splitlines():
            f = line.split()
            if len(f) >= 8 and f[3] == "FUNC" and f[6] != "UND":
                fn, _, node = f[7].partition("@")
                # Unversioned: its version script forgot it (a binary asks
                # for it without a version; any default version serves).
                node = node.lstrip("@") or "-"
                # The classic libraries' internals (IPC helpers, handle
                # destructors, _init) are no API: no header declares them.
                if not re.match(r"sa[A-Z]|evs_|cpg_", fn) or fn.endswith("Destructor"):
                    continue
                symbols.add("%s %s" % (node, fn))
    head = "# Generated by scripts/abi-from-classic.py from the openais 0.80.6 %s: do not edit.\n"
    with open(os.path.join(out_dir, "libraries.txt"), "w") as f:
        f.write(head % "shared libraries" + "# soname  version nodes (sorted)\n")
        f.write("\n".join(libs) + "\n")
    with open(os.path.join(out_dir, "symbols.txt"), "w") as f:
        f.write(head % "shared libraries" + "# version node (- if none)  API function defined there\n")
        f.write("\n".join(sorted(symbols)) + "\n")
    print("abi-from-classic: wrote libraries.txt (%d) and symbols.txt (%d)" % (len(libs), len(symbols)))


def main():
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    classic = os.path.join(sys.argv[1], "include")
    out_dir = sys.argv[2] if len(sys.argv) == 3 else os.path.join(ROOT, "c-tests/abi/classic")
    os.makedirs(out_dir, exist_ok=True)
    library_facts(os.path.join(sys.argv[1], "lib"), out_dir)
    for header in headers():
        if not os.path.exists(os.path.join(classic, header)):
            print("abi-from-classic: %s: not in the classic tree, skipped" % header)
            continue
        text, macros = preprocess(classic, header)
        facts = parse(header, text)
        values = probe(classic, header, facts, macros)
        path = os.path.join(out_dir, header[:-2] + ".c")
        with open(path, "w") as f:
            f.write(generate(header, facts, macros, values))
        print("abi-from-classic: wrote %s (%d typedefs, %d structs, %d enums, %d macros, %d functions)"
              % (os.path.relpath(path, ROOT), len(facts["typedefs"]), len(facts["structs"]),
                 len(facts["enums"]), len(macros), len(facts["functions"])))


if __name__ == "__main__":
    main()
