"""Wiring: from a settings file to a ready ``Pipeline`` (store, sources, classifier, registries)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

from monitor.errors import ConfigError, InputError
from monitor.inputs import RegionRegistryView, read_regions, read_registries, read_roster
from monitor.model import Account, Candidate, Classifier, Party, Region, Registry, Source
from monitor.pipeline import AccountIndex, Pipeline, require_sources
from monitor.settings import Settings
from sources.base import SourceContext, build_source, validate_source
from storage.store import Store


@dataclass
class Inputs:
    """The roster, regions and registries the settings point at, validated."""

    regions: dict[str, Region]
    roster: list[Account]
    registries: list[Registry]


def load_inputs(settings: Settings) -> Inputs:
    """Read and validate the region table, the roster and every registry."""
    regions = read_regions(settings.resolve(settings.inputs.regions))
    roster = read_roster(settings.resolve(settings.inputs.roster), regions)
    registries = read_registries(settings.inputs.registries, settings.base_dir, regions)
    return Inputs(regions, roster, registries)


def open_store(settings: Settings) -> Store:
    """The DuckDB store named by the settings, migrated."""
    return Store(settings.db_path, lock_timeout=settings.storage.lock_timeout)


def build_sources(settings: Settings, registries: list[Registry],
                  env: Mapping[str, str] | None = None,
                  transport: httpx.BaseTransport | None = None) -> list[Source]:
    """Every enabled source under ``[sources]``."""
    ctx = SourceContext(env=dict(os.environ if env is None else env), transport=transport,
                        registries=tuple(registries), base_dir=str(settings.base_dir))
    built = []
    for name, table in settings.sources.items():
        # Disabled sources are still checked, so a typo shows before someone enables it.
        _, validated = validate_source(name, table, str(settings.file))
        if validated.enabled:
            built.append(build_source(name, table, ctx, str(settings.file)))
    return built


def build_classifier(settings: Settings) -> Classifier:
    """The classifier the settings choose (the linear default is trained on first use)."""
    c = settings.classifier
    if c.model == "matcher":
        from classifiers.matcher_classifier import MatcherClassifier

        return MatcherClassifier()
    from classifiers.api import build_default_classifier
    from classifiers.device import resolve_device
    from classifiers.transformer_serve import GpuServing

    gpu = None
    # Only a transformer has somewhere else to run.
    if c.model == "transformer" or "transformer" in c.stage_names:
        gpu = GpuServing(resolve_device(c.device, f"{settings.file}: classifier.device"),
                         c.gpu_precision, c.gpu_batch_size, c.torch_compile)
    transformer = settings.transformer_dir
    wants_transformer = c.model == "transformer" or "transformer" in c.stage_names
    if wants_transformer and not (transformer / "meta.json").exists():
        raise ConfigError(f"{settings.file}: classifier.transformer_dir",
                          f"no trained model in {transformer} (run: asn-monitor train --kind transformer)")
    linear = settings.model_dir
    if c.model in ("linear", "staged") and not (linear / "meta.json").exists():
        from classifiers.api import ensure_default_model
        from monitor.progress import task

        with task("Training the default model (first run only)"):
            ensure_default_model(linear)
    return build_default_classifier(
        transformer if c.model == "transformer" else linear,
        transformer_dir=transformer if c.model != "transformer" and wants_transformer else None,
        stages=c.stage_names, review_threshold=c.queue_threshold,
        backend=c.transformer_backend, unsure=c.unsure, sure=c.sure, threshold=c.flag_threshold,
        unrelated_veto=c.unrelated_veto, account_score=c.account_score, batch_size=c.batch_size,
        gpu=gpu)


def campaign_targets(registries: list[Registry]) -> dict[str, list[str]]:
    """Candidate and party account handles per platform (for reverse checks)."""
    out: dict[str, set[str]] = {}
    for reg in registries:
        holders: list[Candidate | Party] = [*reg.candidates, *reg.parties]
        for holder in holders:
            for platform, handles in holder.accounts.items():
                out.setdefault(platform, set()).update(handles)
    return {p: sorted(h) for p, h in out.items()}


def build_pipeline(settings: Settings, *, store: Store | None = None,
                   classifier: Classifier | None = None,
                   env: Mapping[str, str] | None = None,
                   transport: httpx.BaseTransport | None = None) -> tuple[Pipeline, Inputs]:
    """A pipeline ready to run cycles; syncs the roster, regions and registries into storage."""
    inputs = load_inputs(settings)
    store = store or open_store(settings)
    store.save_regions(inputs.regions.values())
    store.save_roster(inputs.roster)
    store.save_registries(inputs.registries)
    targets = campaign_targets(inputs.registries)
    regs = tuple(inputs.registries)

    def view(index: AccountIndex) -> RegionRegistryView:
        actor_regions: dict[tuple[str, str], str] = {}
        for key_pair, account in (*index.by_handle.items(), *index.by_id.items()):
            actor_regions[(key_pair[0], key_pair[1].lower())] = account.region
        return RegionRegistryView(regs, inputs.regions, actor_regions)

    sources = build_sources(settings, inputs.registries, env, transport)
    from classifiers.normalise import normalise
    from monitor.evidence.images import ImageFetcher

    images = (ImageFetcher(settings.evidence_dir, settings.review, transport)
              if settings.review.fetch_images else None)
    pipeline = Pipeline(
        store=store,
        sources=sources,
        classifier=classifier or build_classifier(settings),
        registries=view,
        normalise=lambda text: normalise(text).text,
        targets=lambda platform: targets.get(platform, []),
        max_pages=settings.pipeline.max_pages_per_account,
        batch_size=settings.classifier.batch_size,
        evidence_files=images,
    )
    return pipeline, inputs


def pipeline_for(settings: Settings, only: Sequence[str] = ()) -> Pipeline:
    """``build_pipeline`` with at least one enabled source, and each of ``only`` among them."""
    pipeline, _ = build_pipeline(settings)
    require_sources(pipeline.sources, f"{settings.file}: sources")
    unknown = sorted(set(only) - {s.name for s in pipeline.sources})
    if unknown:
        raise InputError(f"--source {', '.join(unknown)}: no enabled source of that name in {settings.file}")
    return pipeline
