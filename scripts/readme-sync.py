"""Checks that README.zh-CN.md keeps in step with README.md: the same sections (as many `##` and
`###` headings, in the same order of levels) and the same code blocks, in the same order, with
the same commands: shell blocks compared with `#` comments removed (translated comments are
fine), every other block (Rust, TOML, JSON) exactly. CI runs it; exits 1 naming what differs."""
import os
import re
import sys

root = os.path.join(os.path.dirname(__file__), "..")


def read(name):
    text = open(os.path.join(root, name), encoding="utf-8").read()
    headings, blocks, block = [], [], None
    for line in text.split("\n"):
        if line.startswith("```"):
            if block is None:
                block = [line]
            else:
                blocks.append(block)
                block = None
        elif block is not None:
            block.append(line)
        elif re.match(r"#{2,3} ", line):
            headings.append(line.split(" ")[0])
    return headings, [normalized(b) for b in blocks]


def normalized(block):
    fence, body = block[0], block[1:]
    if fence.strip("`") in ("sh", "bash", "shell"):
        body = [re.sub(r"(^|\s)#(?![!{]).*$", "", line).rstrip() for line in body]
        body = [line for line in body if line]
    return (fence, "\n".join(body))


en_headings, en_blocks = read("README.md")
zh_headings, zh_blocks = read("README.zh-CN.md")
problems = []
if en_headings != zh_headings:
    problems.append(f"sections differ: README.md {en_headings} vs README.zh-CN.md {zh_headings}")
if len(en_blocks) != len(zh_blocks):
    problems.append(f"{len(en_blocks)} code blocks in README.md, {len(zh_blocks)} in README.zh-CN.md")
for i, (en, zh) in enumerate(zip(en_blocks, zh_blocks)):
    if en != zh:
        problems.append(f"code block {i + 1} differs:\n--- README.md\n{en[1]}\n--- README.zh-CN.md\n{zh[1]}")
for problem in problems:
    print(problem)
print(f"readme-sync: {len(en_headings)} sections, {len(en_blocks)} code blocks"
      + (" in step" if not problems else f", {len(problems)} problems"))
sys.exit(1 if problems else 0)
