#!/bin/sh
# Doxygen's input filter for libaq's headers, which keep plain C comments:
# - a comment that opens a line ("/* ...") becomes a documentation block
#   ("/** ..."), and a comment after a declaration on its line
#   ("int x; /* ... */") a member's ("/**< ...");
# - section banners ("/* ==== */", "/*  Title  */", "/* ---- Title ---- */")
#   stay plain comments, so that they neither document the item below
#   them nor hide that it has no comment of its own;
# - the header's first comment documents the file (@file), without which
#   Doxygen would leave out its functions;
# - a declaration that follows its group's first one with no comment of
#   its own (an _until twin, the next of a family) gets "@copydoc" of the
#   group's first: the comment above the group speaks for all of them.
sed -e '1s,^/\*\(.*\)$,/** @file\n *\1,' \
    -e '/^\/\*\( [=-][=-]\|  \)/b' \
    -e '2,$s,^\([[:space:]]*\)/\*\([^*]\),\1/**\2,' \
    -e 's,\([;,{]\)\([[:space:]]*\)/\*\([^*<]\),\1\2/**<\3,' "$1" |
awk '
    /^AQ_EXTERN/ {
        name = $0
        sub(/\(.*/, "", name)
        sub(/.*[ *]/, "", name)
        if (prev == "comment") head = name
        else if (prev == "decl" && head != "") print "/** @copydoc " head " */"
        indecl = 1
    }
    { print }
    indecl { if ($0 ~ /;[[:space:]]*(\/\*.*)?$/) { indecl = 0; prev = "decl" }
             next }
    /\*\/[[:space:]]*$/ { prev = "comment"; next }
    { prev = "other"; head = (/^[[:space:]]*$/ ? "" : head) }
'
