"""courseline.collectors: the first stage, from what the user hands us to hashed, stored exhibits.

A source (a file, a folder, a zip or tar archive, nested archives too) is walked safely
(`walk.collect`): every file found is hashed (SHA-256, and MD5 for older systems) in the same pass
that copies it into the case's read-only, content-addressed evidence store (`store.EvidenceStore`,
``CASE/evidence/ab/abcdef…``), and is identified by its content (`identify.sample_file`) so that
parsers can claim it. Everything not collected (links, device files, archive members that would
escape the archive, encrypted members, decompression bombs, damaged archives) is reported as a
refusal with the reason in plain words, so nothing is lost silently.

Why here and first: the hash must be taken before anything parses a source, originals must never
be written to, and untrusted archives must not be able to write outside the case or exhaust the
machine. Later stages only ever read the stored copies. This stage imports no other stage.
"""
