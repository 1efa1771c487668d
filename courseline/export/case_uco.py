"""CASE/UCO JSON-LD: ``courseline export CASE --format case-uco``.

CASE (Cyber-investigation Analysis Standard Expression, https://caseontology.org) on UCO is the
form labs exchange provenance in. The graph written here is checked against CASE 1.5.0, the
version `case_validate` of case-utils 0.18.0 builds in (research/standards.md §4.1–4.3, where the
classes and properties below were read from the ontology and tried with `case_validate`).

What the graph holds:

* the **investigation** (the case reference) and the **tool** (courseline and its version);
* each **source file** of the manifest as a ``uco-observable:File`` with its name, path in the
  case, size, media type and SHA-256 and MD5; an archive's members are ``Contained_Within`` it;
* one **provenance record** per exhibit, with its exhibit number and its files;
* the **investigative actions** that made the sealed timeline, from the case's audit log: for
  each source the `collect` that stored it and the `parse` that read it (its result: the events),
  and the `build` that first sealed this timeline (its result: ``out/timeline.jsonl``), each with
  its examiner, the tool, its time and what it took and gave;
* every **event**: e-mails as ``EmailMessage``, texts and chat messages as ``Message`` (SMS and
  MMS as ``SMSMessage``), calls as ``Call``, all else as ``EventRecord``; from and to as
  accounts (``PhoneAccount``, ``EmailAddress``, or ``ApplicationAccount`` for chat names and
  handles); attachments as files ``Attachment_Of`` the event; each event ``Extracted_From`` the
  files it was read from, with the record's place in the file as the description.

Each event also carries an ``EventRecordFacet`` with its event id (``eventRecordID``) and its row
of ``timeline.jsonl`` exactly as sealed (``eventRecordRaw``): a reader recomputes every event id
and the seal from the graph alone (:func:`timeline_lines`).

Rules the graph keeps that ``case_validate`` does not check (research/standards.md §4.2), made
by :func:`check_graph` on every export before it is kept: every time has an offset; every hash of
a file the case holds (the evidence store, the sealed timeline) is the hash of that file now;
every node referred to exists; no node is written twice.

Node names (IRIs) are made from what they name (a file's path and hash, an event's id, an
account's identifier) inside the case's own namespace, never at random, so the same case gives
the same bytes each time. The namespace is under ``courseline.invalid``: ``.invalid`` is reserved
never to resolve (RFC 2606), so nothing will try to fetch a node.

Attachments inside a source (an e-mail's attachment) have the hash the parser read; they are not
stored on their own, so :func:`check_graph` counts them as not re-read rather than checked.
"""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from courseline import __version__
from courseline.collectors.hashing import Digests, hash_file
from courseline.collectors.store import EvidenceStore
from courseline.export import ExportError, SealedTimeline
from courseline.pipeline import DB_FILE, EVIDENCE_DIR, OUT_DIR
from courseline.timeline.db import CaseDB
from courseline.timeline.event import canonical_json
from courseline.timeline.seal import ChainCheck, exhibit_key

CASE_VERSION = "case-1.5.0"   # the ontology version the graph is written and validated against
IRI_ROOT = "https://courseline.invalid/"
TIMELINE_PATH = f"{OUT_DIR}/timeline.jsonl"

CONTEXT = {
    "kb": None,   # filled in per case: IRI_ROOT + "case/<uuid>/"
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "uco-identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
    "uco-location": "https://ontology.unifiedcyberontology.org/uco/location/",
    "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "uco-tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
    "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

# Platforms that are a channel, not an application a message was sent with.
NOT_AN_APPLICATION = frozenset({"phone", "email", "device", "diary"})
MESSAGE_TYPES = {"email": "uco-observable:EmailMessage", "sms": "uco-observable:SMSMessage",
                 "mms": "uco-observable:SMSMessage", "message": "uco-observable:Message",
                 "call": "uco-observable:Call"}
_OFFSET = re.compile(r"(Z|[+-]\d\d:\d\d)\Z")
_NUMBER = re.compile(r"\+?\d[\d ]*\Z")


def ref(iri: str) -> dict[str, str]:
    return {"@id": iri}


def when(utc: str) -> dict[str, str]:
    return {"@type": "xsd:dateTime", "@value": utc}


def hashes(names: "Names", owner: str, sha256: str, md5: str | None = None
           ) -> list[dict[str, Any]]:
    found = [("SHA256", sha256)] + ([("MD5", md5)] if md5 else [])
    return [{"@id": names("Hash", owner, method), "@type": "uco-types:Hash",
             "uco-types:hashMethod": method,
             "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": value}}
            for method, value in found]


class Names:
    """IRIs made from what they name, in the case's namespace."""

    def __init__(self, reference: str) -> None:
        self.space = uuid.uuid5(uuid.NAMESPACE_URL, f"{IRI_ROOT}case/{reference}")

    @property
    def base(self) -> str:
        return f"{IRI_ROOT}case/{self.space}/"

    def __call__(self, kind: str, *key: str) -> str:
        return f"kb:{kind}-{uuid.uuid5(self.space, chr(31).join((kind, *key)))}"


@dataclass
class Source:
    """One manifest entry and the node that names it."""

    entry: dict[str, Any]
    iri: str
    events: list[str] = field(default_factory=list)   # the events read from it, for its parse

    @property
    def key(self) -> tuple[str, str]:
        return self.entry["path"], self.entry["sha256"]


class GraphWriter:
    """Writes a JSON-LD document one node per line, so a graph of any size streams out."""

    def __init__(self, handle: TextIO, base: str) -> None:
        self.handle, self.first = handle, True
        context = dict(CONTEXT, kb=base)
        handle.write('{"@context":' + canonical_json(context) + ',"@graph":[\n')

    def node(self, node: dict[str, Any]) -> None:
        self.handle.write(("" if self.first else ",\n") + canonical_json(node, floats=False))
        self.first = False

    def close(self) -> None:
        self.handle.write("\n]}\n")


def write(sealed: SealedTimeline, target: Path) -> None:
    case = sealed.case
    names = Names(sealed.reference or case.folder.name)
    manifest = json.loads(sealed.manifest.read_text(encoding="utf-8"))
    sources = {(s["path"], s["sha256"]): Source(s, names("File", s["path"], s["sha256"]))
               for s in manifest["sources"]}
    stored_files: dict[str, str] = {}   # sha256 -> the first source file with that content
    for source in sources.values():
        stored_files.setdefault(source.entry["sha256"], source.iri)
    with CaseDB(case.folder / DB_FILE, read_only=True) as db:
        audit = db.audit_entries()
    build = sealed.sealed_by
    before_build = [entry for entry in audit if entry["seq"] < build["seq"]]
    tool = names("Tool", "courseline")
    examiners: dict[str, str] = {}
    accounts: dict[str, dict[str, Any]] = {}
    applications: dict[str, str] = {}
    attachments: dict[tuple[str, str], dict[str, Any]] = {}

    def examiner(name: str) -> str:
        return examiners.setdefault(name, names("Person", name))

    provenance = _provenance_records(sources, names)
    collects = _collect_actions(before_build, sources, provenance, names, tool, examiner)
    parses = _parse_actions(before_build, sources, collects, names, tool, examiner)
    build_iri = names("InvestigativeAction", "build", str(build["seq"]))
    timeline_file = names("File", TIMELINE_PATH, sealed.seal)

    with target.open("w", encoding="utf-8", newline="\n") as handle:
        graph = GraphWriter(handle, names.base)
        graph.node({"@id": names("Investigation", "case"),
                    "@type": "case-investigation:Investigation",
                    "uco-core:name": sealed.reference or case.folder.name,
                    "case-investigation:investigationForm": "case",
                    "uco-core:object": [ref(iri) for iri in (
                        tool, *(p["@id"] for p in provenance.values()),
                        *(a["@id"] for a in collects.values()),
                        *(a["@id"] for a in parses.values()), build_iri)]})
        graph.node({"@id": tool, "@type": "uco-tool:AnalyticTool", "uco-core:name": "courseline",
                    "uco-tool:version": __version__, "uco-tool:toolType": "timeline builder"})
        by_path: dict[str, Source] = {}
        for source in sources.values():
            by_path.setdefault(source.entry["path"], source)
        for source in sources.values():
            for node in _file_nodes(source, by_path, names):
                graph.node(node)
        for record in provenance.values():
            graph.node(record)

        for line, row in sealed.lines():
            event = names("Event", row["event_id"])
            for node in _event_nodes(row, line, event, names, accounts, applications):
                graph.node(node)
            for link in row["provenance"]:
                source = sources.get((link["path"], link["source_sha256"]))
                if source is None:
                    raise ExportError(f"event {row['seq']} was read from {link['path']}, which "
                                      f"is not in {sealed.manifest}: run `courseline verify "
                                      f"{case.folder}`")
                if not source.events or source.events[-1] != event:
                    source.events.append(event)
                graph.node(_relationship(names, event, source.iri, "Extracted_From",
                                         link["locator"], key=link["locator"]))
            for number, attached in enumerate(row["attachments"], 1):
                # The same file attached twice is two attachments: each its own link.
                graph.node(_relationship(names, _attachment(attached, stored_files, attachments,
                                                            names),
                                         event, "Attachment_Of", key=str(number)))

        for node in attachments.values():
            graph.node(node)
        for node in accounts.values():
            graph.node(node)
        for platform, iri in sorted(applications.items()):
            graph.node({"@id": iri, "@type": "uco-observable:Application",
                        "uco-core:name": platform,
                        "uco-core:hasFacet": [{"@id": names("ApplicationFacet", platform),
                                               "@type": "uco-observable:ApplicationFacet",
                                               "uco-observable:applicationIdentifier": platform}]})
        for action in collects.values():
            graph.node(action)
        for (path, sha256), action in parses.items():
            action["uco-action:result"] = [ref(iri) for iri in sources[(path, sha256)].events]
            graph.node(action)
        graph.node(_build_action(build, build_iri, sealed, sources, parses, tool, examiner,
                                 timeline_file))
        graph.node(_timeline_file(sealed, timeline_file, names))
        for name, iri in sorted(examiners.items(), key=lambda item: item[1]):
            graph.node({"@id": iri, "@type": "uco-identity:Person", "uco-core:name": name})
        graph.close()
    checked = check_graph(target, case.folder, sealed.seal, sealed.events)
    if checked.problems:
        raise ExportError("the CASE graph failed courseline's own checks, so it was not kept: "
                          + "; ".join(checked.problems[:5]))


# -- the audit log: which actions made this timeline ------------------------------------------

def _latest_by_file(audit: Iterable[dict[str, Any]], action: str, side: str
                    ) -> dict[tuple[str, str], dict[str, Any]]:
    """For each file (path, sha256) the entries of this action list on that side, the last."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in audit:
        if entry["action"] == action:
            for item in entry[side]:
                latest[(item.get("path"), item.get("sha256"))] = entry
    return latest


def _provenance_records(sources: dict[tuple[str, str], Source], names: Names
                        ) -> dict[str, dict[str, Any]]:
    by_exhibit: dict[str, list[Source]] = {}
    for source in sources.values():
        by_exhibit.setdefault(source.entry["exhibit"], []).append(source)
    return {exhibit: {
        "@id": names("ProvenanceRecord", exhibit),
        "@type": "case-investigation:ProvenanceRecord",
        "case-investigation:exhibitNumber": exhibit,
        "uco-core:description": f"Exhibit {exhibit}: {len(members)} file(s) as collected",
        "uco-core:object": [ref(s.iri) for s in members]}
        for exhibit, members in sorted(by_exhibit.items(), key=lambda item: exhibit_key(item[0]))}


def _collect_actions(audit: list[dict[str, Any]], sources: dict[tuple[str, str], Source],
                     provenance: dict[str, dict[str, Any]], names: Names, tool: str,
                     examiner: Callable[[str], str]) -> dict[int, dict[str, Any]]:
    """One action per `collect` entry that stored a file of the manifest, keyed by its seq."""
    actions: dict[int, dict[str, Any]] = {}
    collected = _latest_by_file(audit, "collect", "outputs")
    for source in sources.values():
        entry = collected.get(source.key)
        if entry is None:
            continue   # a case built before the audit log recorded collections
        action = actions.setdefault(entry["seq"], {
            "@id": names("InvestigativeAction", "collect", str(entry["seq"])),
            "@type": "case-investigation:InvestigativeAction",
            "uco-core:name": "collect",
            "uco-core:description": "Hashed and copied into the case's evidence store from "
                                    + ", ".join(item["path"] for item in entry["inputs"]),
            "uco-action:endTime": when(entry["time_utc"]),
            "uco-action:performer": ref(examiner(entry["examiner"])),
            "uco-action:instrument": ref(tool),
            "uco-action:object": [],
            "uco-action:result": [ref(provenance[entry["parameters"]["exhibit"]]["@id"])]
            if entry["parameters"].get("exhibit") in provenance else []})
        action["uco-action:object"].append(ref(source.iri))
    return dict(sorted(actions.items()))


def _parse_actions(audit: list[dict[str, Any]], sources: dict[tuple[str, str], Source],
                   collects: dict[int, dict[str, Any]], names: Names, tool: str,
                   examiner: Callable[[str], str]) -> dict[tuple[str, str], dict[str, Any]]:
    """One action per source a parser read: the last `parse` of it before the build."""
    actions: dict[tuple[str, str], dict[str, Any]] = {}
    parsed = _latest_by_file(audit, "parse", "inputs")
    collected_by: dict[str, list[dict[str, Any]]] = {}
    for collect in collects.values():
        for item in collect["uco-action:object"]:
            collected_by.setdefault(item["@id"], []).append(collect)
    for key, source in sorted(sources.items()):
        entry = parsed.get(key)
        if entry is None:
            continue
        counts = entry["outputs"][0] if entry["outputs"] else {}
        parameters = entry["parameters"]
        action: dict[str, Any] = {
            "@id": names("InvestigativeAction", "parse", str(entry["seq"]), *key),
            "@type": "case-investigation:InvestigativeAction",
            "uco-core:name": "parse",
            "uco-core:description": (
                f"Read with the parser {parameters.get('parser')} version "
                f"{parameters.get('parser_version')}, local times in "
                f"{parameters.get('zone')}: {counts.get('records', 0)} record(s), "
                f"{counts.get('events', 0)} event(s), {counts.get('rejected', 0)} could not "
                f"be read"),
            "uco-action:endTime": when(entry["time_utc"]),
            "uco-action:performer": ref(examiner(entry["examiner"])),
            "uco-action:instrument": ref(tool),
            "uco-action:object": [ref(source.iri)]}
        informed_by = [collect["@id"] for collect in collected_by.get(source.iri, [])]
        if informed_by:
            action["case-investigation:wasInformedBy"] = [ref(iri) for iri in informed_by]
        actions[key] = action
    return actions


def _build_action(entry: dict[str, Any], iri: str, sealed: SealedTimeline,
                  sources: dict[tuple[str, str], Source],
                  parses: dict[tuple[str, str], dict[str, Any]], tool: str,
                  examiner: Callable[[str], str],
                  timeline_file: str) -> dict[str, Any]:
    action: dict[str, Any] = {
        "@id": iri, "@type": "case-investigation:InvestigativeAction",
        "uco-core:name": "build",
        "uco-core:description": f"Merged, ordered and sealed {sealed.events} event(s); seal "
                                f"{sealed.seal}",
        "uco-action:endTime": when(entry["time_utc"]),
        "uco-action:performer": ref(examiner(entry["examiner"])),
        "uco-action:instrument": ref(tool),
        "uco-action:object": [ref(sources[key].iri) for key in sorted(parses)],
        "uco-action:result": [ref(timeline_file)]}
    if parses:
        action["case-investigation:wasInformedBy"] = [ref(a["@id"]) for _, a in
                                                      sorted(parses.items())]
    return action


# -- files ---------------------------------------------------------------------------------

def _file_nodes(source: Source, by_path: dict[str, Source],
                names: Names) -> Iterator[dict[str, Any]]:
    entry = source.entry
    yield _file(source.iri, entry["path"].rsplit("/", 1)[-1].rsplit("!", 1)[-1], entry["path"],
                entry["size"], entry["sha256"], entry.get("md5"), entry.get("media_type"),
                f"Exhibit {entry['exhibit']}", names)
    archive = entry.get("archive_member_of")
    if archive:
        holder = by_path.get(archive)
        if holder is not None:
            yield _relationship(names, source.iri, holder.iri, "Contained_Within")


def _file(iri: str, name: str, path: str | None, size: int | None, sha256: str,
          md5: str | None, media_type: str | None, description: str | None,
          names: Names) -> dict[str, Any]:
    file_facet: dict[str, Any] = {"@id": names("FileFacet", iri),
                                  "@type": "uco-observable:FileFacet",
                                  "uco-observable:fileName": name}
    content: dict[str, Any] = {"@id": names("ContentDataFacet", iri),
                               "@type": "uco-observable:ContentDataFacet",
                               "uco-observable:hash": hashes(names, iri, sha256, md5)}
    if path is not None:
        file_facet["uco-observable:filePath"] = path
    if size is not None:
        file_facet["uco-observable:sizeInBytes"] = size
        content["uco-observable:sizeInBytes"] = size
    if media_type:
        content["uco-observable:mimeType"] = media_type
    node: dict[str, Any] = {"@id": iri, "@type": "uco-observable:File",
                            "uco-core:hasFacet": [file_facet, content]}
    if description:
        node["uco-core:description"] = description
    return node


def _timeline_file(sealed: SealedTimeline, iri: str, names: Names) -> dict[str, Any]:
    digests = hash_file(sealed.timeline)
    return _file(iri, "timeline.jsonl", TIMELINE_PATH, digests.size, digests.sha256,
                 digests.md5, "application/x-ndjson",
                 f"The sealed timeline: {sealed.events} event(s), seal {sealed.seal}", names)


def _attachment(attached: dict[str, Any], stored_files: dict[str, str],
                seen: dict[tuple[str, str], dict[str, Any]], names: Names) -> str:
    """The file node of an attachment: the source file with its hash when the case stored it
    (WhatsApp media, an MMS part), else a node of its own, written once."""
    sha256, name = attached.get("sha256"), attached.get("name") or "attachment"
    if sha256 in stored_files:
        return stored_files[sha256]
    key = (sha256 or "", name)
    if key not in seen:
        iri = names("File", "attachment", *key)
        if sha256:
            seen[key] = _file(iri, name, None, attached.get("size"), sha256, None,
                              attached.get("media_type"),
                              "An attachment inside a source file; not stored on its own",
                              names)
        else:   # an attachment the export names but does not hold
            seen[key] = {"@id": iri, "@type": "uco-observable:File",
                         "uco-core:description": "An attachment named but not in the export",
                         "uco-core:hasFacet": [{"@id": names("FileFacet", iri),
                                                "@type": "uco-observable:FileFacet",
                                                "uco-observable:fileName": name}]}
    return seen[key]["@id"]


def _relationship(names: Names, source: str, target: str, kind: str,
                  description: str | None = None, key: str = "") -> dict[str, Any]:
    node: dict[str, Any] = {"@id": names("Relationship", kind, source, target, key),
                            "@type": "uco-core:Relationship",
                            "uco-core:source": ref(source), "uco-core:target": ref(target),
                            "uco-core:kindOfRelationship": kind,
                            "uco-core:isDirectional": True}
    if description:
        node["uco-core:description"] = description
    return node


# -- events -----------------------------------------------------------------------------------

def _event_nodes(row: dict[str, Any], line: bytes, iri: str, names: Names,
                 accounts: dict[str, dict[str, Any]], applications: dict[str, str]
                 ) -> Iterator[dict[str, Any]]:
    kind, utc = row["kind"], row["occurred_utc"]
    record: dict[str, Any] = {
        "@id": names("EventRecordFacet", iri), "@type": "uco-observable:EventRecordFacet",
        # eventID is in a shape of CASE 1.5.0 but not declared as a property (case_validate
        # warns of it): the event id goes in eventRecordID, the seq is in the row.
        "uco-observable:eventRecordID": row["event_id"],
        "uco-observable:eventType": kind,
        "uco-observable:eventRecordRaw": line.decode("utf-8").rstrip("\n")}
    facets: list[dict[str, Any]] = []
    node_type = MESSAGE_TYPES.get(kind, "uco-observable:EventRecord")
    application = None
    if row["platform"] not in NOT_AN_APPLICATION and kind in MESSAGE_TYPES:
        application = applications.setdefault(row["platform"],
                                              names("Application", row["platform"]))
    if kind in MESSAGE_TYPES:
        facets.append(_conversation_facet(row, iri, names, accounts, application))
    else:
        if utc:
            record["uco-observable:startTime"] = when(utc)
        if row["text"]:
            record["uco-observable:eventRecordText"] = row["text"]
    facets.append(record)
    node: dict[str, Any] = {"@id": iri, "@type": node_type, "uco-core:hasFacet": facets}
    if row["subject"] and kind not in ("email",):
        node["uco-core:name"] = row["subject"]
    if row["flags"]:
        node["uco-core:tag"] = list(row["flags"])
    yield node
    if row["location"]:
        yield from _location_nodes(row["location"], iri, names)


def _conversation_facet(row: dict[str, Any], iri: str, names: Names,
                        accounts: dict[str, dict[str, Any]],
                        application: str | None) -> dict[str, Any]:
    kind, utc = row["kind"], row["occurred_utc"]
    facet_type = {"email": "EmailMessageFacet", "call": "CallFacet"}.get(kind, "MessageFacet")
    facet: dict[str, Any] = {"@id": names(facet_type, iri),
                             "@type": f"uco-observable:{facet_type}"}
    if row["sender"]:
        facet["uco-observable:from"] = ref(_account(row["sender"], names, accounts))
    if row["recipients"]:
        facet["uco-observable:to"] = [ref(_account(r, names, accounts))
                                      for r in row["recipients"]]
    if application:
        facet["uco-observable:application"] = ref(application)
    if kind == "call":
        if utc:
            facet["uco-observable:startTime"] = when(utc)
        if row["duration_s"] is not None:
            facet["uco-observable:duration"] = row["duration_s"]
        if row["direction"] in ("incoming", "outgoing"):
            facet["uco-observable:callType"] = row["direction"]
        return facet
    if utc:
        facet["uco-observable:sentTime"] = when(utc)
    if kind == "email":
        if row["subject"]:
            facet["uco-observable:subject"] = row["subject"]
        if row["text"]:
            facet["uco-observable:body"] = row["text"]
        message_id = (row["details"] or {}).get("message_id")
        if isinstance(message_id, str) and message_id:
            facet["uco-observable:messageID"] = message_id
    elif row["text"]:
        facet["uco-observable:messageText"] = row["text"]
    return facet


def _account(identifier: str, names: Names, accounts: dict[str, dict[str, Any]]) -> str:
    """The node of an identifier (tel:, email:, or an application's handle or display name)."""
    if identifier in accounts:
        return accounts[identifier]["@id"]
    scheme, _, value = identifier.partition(":")
    if scheme == "email":
        iri = names("EmailAddress", identifier)
        node = {"@id": iri, "@type": "uco-observable:EmailAddress", "uco-core:name": identifier,
                "uco-core:hasFacet": [{"@id": names("EmailAddressFacet", iri),
                                       "@type": "uco-observable:EmailAddressFacet",
                                       "uco-observable:addressValue": value}]}
    else:
        node_type = "PhoneAccount" if scheme == "tel" else "ApplicationAccount"
        iri = names(node_type, identifier)
        facets: list[dict[str, Any]] = [{"@id": names("AccountFacet", iri),
                                         "@type": "uco-observable:AccountFacet",
                                         "uco-observable:accountIdentifier": value}]
        if scheme == "tel" and _NUMBER.match(value):
            facets.append({"@id": names("PhoneAccountFacet", iri),
                           "@type": "uco-observable:PhoneAccountFacet",
                           "uco-observable:phoneNumber": value})
        if scheme == "name":
            facets.append({"@id": names("DigitalAccountFacet", iri),
                           "@type": "uco-observable:DigitalAccountFacet",
                           "uco-observable:displayName": value})
        node = {"@id": iri, "@type": f"uco-observable:{node_type}", "uco-core:name": identifier,
                "uco-core:hasFacet": facets}
    accounts[identifier] = node
    return iri


def _location_nodes(location: dict[str, Any], event: str, names: Names
                    ) -> Iterator[dict[str, Any]]:
    iri = names("Location", event)
    facet: dict[str, Any] = {"@id": names("LatLongCoordinatesFacet", iri),
                             "@type": "uco-location:LatLongCoordinatesFacet"}
    for key, prop in (("lat", "latitude"), ("lon", "longitude")):
        if location.get(key) is not None:
            # A JSON number would be read as xsd:double; the ontology asks for xsd:decimal.
            facet[f"uco-location:{prop}"] = {"@type": "xsd:decimal",
                                             "@value": _decimal(location[key])}
    described = f"Where the source recorded it ({location.get('basis') or 'basis not stated'}"
    if location.get("accuracy_m") is not None:
        described += f", to within {location['accuracy_m']} m"
    yield {"@id": iri, "@type": "uco-location:Location", "uco-core:description": described + ")",
           "uco-core:hasFacet": [facet]}
    yield _relationship(names, event, iri, "Located_At")


def _decimal(number: float) -> str:
    """A number as xsd:decimal writes it: digits and a point, never an exponent (-5e-05)."""
    text = format(Decimal(repr(float(number))), "f")
    return text if "." in text else text + ".0"


# -- reading a graph back, and the checks case_validate does not make --------------------------

def _nodes(path: Path) -> list[dict[str, Any]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return document["@graph"]


def timeline_lines(path: Path) -> list[bytes]:
    """The rows of timeline.jsonl the graph carries, in timeline order, as sealed (each line
    ends with a newline): the event ids and the seal are recomputed from them."""
    return _raw_lines(_nodes(path))


def _raw_lines(nodes: list[dict[str, Any]]) -> list[bytes]:
    found: list[tuple[int, bytes]] = []
    for node in nodes:
        for facet in node.get("uco-core:hasFacet", []):
            if facet.get("@type") == "uco-observable:EventRecordFacet":
                raw = facet["uco-observable:eventRecordRaw"]
                found.append((json.loads(raw)["seq"], raw.encode("utf-8") + b"\n"))
    return [line for _, line in sorted(found)]


@dataclass
class GraphCheck:
    problems: list[str] = field(default_factory=list)
    times: int = 0
    hashes_checked: int = 0
    hashes_not_reread: int = 0
    references: int = 0
    rows: int = 0


def check_graph(path: Path, case_folder: Path, seal: str, events: int) -> GraphCheck:
    """The rules :mod:`case_validate` does not check: every time with an offset, every hash of
    a file the case holds equal to that file's hash now, every referred node present, every
    node written once; and the rows the events carry recompute to the seal."""
    result = GraphCheck()
    nodes = _nodes(path)
    check = ChainCheck()
    for line in _raw_lines(nodes):
        _, problem = check.add_line(line)
        if problem:
            result.problems.append(f"the events' sealed rows: {problem}")
            break
    result.rows = check.count
    ended = None if result.problems else check.ends_at(seal, events)
    if ended:
        result.problems.append(f"the events' sealed rows: {ended}")
    defined: set[str] = set()
    for node in _walk_nodes(nodes):
        if node["@id"] in defined:
            result.problems.append(f"node {node['@id']} is written twice")
        defined.add(node["@id"])
    store = EvidenceStore(case_folder / EVIDENCE_DIR)
    hashed: dict[Path, Digests] = {}    # files several nodes name (a copy twice in the case)
    for node in _walk_nodes(nodes):
        for value in _values(node):
            if isinstance(value, dict) and value.keys() == {"@id"}:
                result.references += 1
                if value["@id"] not in defined:
                    result.problems.append(f"{node['@id']} refers to {value['@id']}, which is "
                                           f"not in the graph")
            elif isinstance(value, dict) and value.get("@type") == "xsd:dateTime":
                result.times += 1
                if not _OFFSET.search(value["@value"]):
                    result.problems.append(f"{node['@id']}: the time {value['@value']} has no "
                                           f"offset")
        if node.get("@type") == "uco-observable:File":
            _check_file_hashes(node, store, case_folder, result, hashed)
    return result


def _check_file_hashes(node: dict[str, Any], store: EvidenceStore, case_folder: Path,
                       result: GraphCheck, hashed: dict[Path, Digests]) -> None:
    facets = node.get("uco-core:hasFacet", [])
    written = {h["uco-types:hashMethod"]: h["uco-types:hashValue"]["@value"]
               for facet in facets for h in facet.get("uco-observable:hash", [])}
    if not written:
        return
    paths = [facet["uco-observable:filePath"] for facet in facets
             if "uco-observable:filePath" in facet]
    if TIMELINE_PATH in paths:
        held: Path | None = case_folder / TIMELINE_PATH
    else:
        held = store.path_of(written["SHA256"]) if "SHA256" in written else None
    if held is None or not held.is_file():
        if not paths:   # an attachment inside a source file: its hash is as the parser read it
            result.hashes_not_reread += len(written)
            return
        result.problems.append(f"{node['@id']}: no file in the case holds the content it names")
        return
    if held not in hashed:
        hashed[held] = hash_file(held)
    actual = {"SHA256": hashed[held].sha256, "MD5": hashed[held].md5}
    for method, value in sorted(written.items()):
        result.hashes_checked += 1
        if actual.get(method) != value:
            result.problems.append(f"{node['@id']}: its {method} {value} is not the hash of "
                                   f"{held} ({actual.get(method)})")


def _walk_nodes(nodes: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """Every node with an @id, the embedded ones (facets, hashes) too."""
    for node in nodes:
        if isinstance(node, dict):
            if "@id" in node and node.keys() != {"@id"}:
                yield node
            for value in node.values():
                if isinstance(value, (dict, list)):
                    yield from _walk_nodes(value if isinstance(value, list) else [value])


def _values(node: dict[str, Any]) -> Iterator[Any]:
    """The node's own values (lists opened), not those of the nodes inside it."""
    for value in node.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and "@id" in item and item.keys() != {"@id"}:
                continue   # an embedded node: _walk_nodes visits it
            yield item
