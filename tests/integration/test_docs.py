"""The README's configuration reference and the module agree: every
directive httpd knows from the module is documented, and every documented
directive exists (mod_auth_openidc's guard, as a test)."""

import re
import subprocess

from conftest import APACHE, ROOT, _sanitizer_env


def module_directives(make_server):
    h = make_server(start=False)
    h.write_files()
    out = subprocess.run([APACHE, "-L", "-f", str(h.conf_path)], capture_output=True,
                         text=True, check=True, env=_sanitizer_env(h.root)).stdout
    return {m.group(1) for m in re.finditer(r"^(Blu8x8\w+)\s", out, re.M)}


def readme_directives():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(Blu8x8\w+)`", section, re.M))


def test_readme_documents_every_directive(make_server):
    known = module_directives(make_server)
    documented = readme_directives()
    assert len(known) >= 20
    assert known - documented == set(), "directives missing from the README"
    assert documented - known == set(), "README documents directives that do not exist"


def test_readme_has_the_two_setup_commands():
    text = (ROOT / "README.md").read_text()
    assert "make run" in text and "make test" in text


def test_the_reference_copies_are_the_shared_originals():
    """tests/reference/ is a copy of the official documents in ../shared/reference/
    (8x8's OpenAPI documents and pages, OpenAI's schema), kept in the repository
    so that a clone anywhere can run the tests: where the originals are beside
    the project, every copy must be byte for byte the same."""
    import pytest
    shared = ROOT.parent / "shared" / "reference"
    if not shared.is_dir():
        pytest.skip("no ../shared/reference beside this clone")
    copies = ROOT / "tests" / "reference"
    names = ["openai-chat-completions.json"] + [
        f"8x8/{p.name}" for p in sorted((shared / "8x8").iterdir())]
    for name in names:
        assert (copies / name).read_bytes() == (shared / name).read_bytes(), name
