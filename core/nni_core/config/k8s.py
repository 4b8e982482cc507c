"""Building blocks for Kubernetes-based platforms: the storage section and its v1 conversion.

Generic (any platform running trials as Kubernetes pods may use them); the platforms themselves
(kubeflow, frameworkcontroller, ...) live in their plugins.
"""

from __future__ import annotations

from typing import Any

import attrs

from nni_core.config import types as T
from nni_core.config.model import Bound, Context, Section, field, join

STORAGE_TYPES = ("azureStorage", "nfs")


@attrs.frozen(kw_only=True)
class K8sStorageConfig(Section):
    """Where trial code and outputs live: an NFS export or an Azure file share."""


    storage_type: str = field(T.STR)
    azure_account: str | None = field(T.optional(T.STR), None)
    azure_share: str | None = field(T.optional(T.STR), None)
    key_vault_name: str | None = field(T.optional(T.STR), None)
    key_vault_key: str | None = field(T.optional(T.STR), None)
    server: str | None = field(T.optional(T.STR), None)
    path: str | None = field(T.optional(T.STR), None)

    @classmethod
    def check(cls, bound: Bound, ctx: Context, path: str) -> None:
        kind = bound["storage_type"]
        if kind == "azureStorage":
            wrong = [k for k in ("server", "path") if bound[k] is not None]
        elif kind == "nfs":
            wrong = [k for k in ("azure_account", "azure_share", "key_vault_name", "key_vault_key")
                     if bound[k] is not None]
        else:
            ctx.problems.add(join(path, "storageType"), "is not a known storage type", got=kind,
                             expected=" or ".join(repr(t) for t in STORAGE_TYPES))
            return
        for name in wrong:
            key = "".join(w.title() if i else w for i, w in enumerate(name.split("_")))
            ctx.problems.add(join(path, key), f"does not belong to {kind} storage", got=bound[name],
                             expected="remove it")


def convert_v1_storage(conv: Any, v1_section: dict, where: str) -> dict | None:
    """v1 ``<platform>Config`` storage keys (storage/nfs/azureStorage/keyVault) -> v2 ``storage``.

    ``conv`` is the running ``V1Conversion``; consumed keys are popped from ``v1_section``.
    """
    storage_name = v1_section.pop("storage", None)
    if storage_name is None:
        storage_name = "nfs" if "nfs" in v1_section else "azureStorage"
    if storage_name == "nfs":
        nfs = conv.take(v1_section, "nfs", where, expected="{server: ..., path: ...}", mapping=True)
        if not isinstance(nfs, dict):
            return None
        return {"storageType": "nfs", "server": conv.take(nfs, "server", f"{where}.nfs"),
                "path": conv.take(nfs, "path", f"{where}.nfs")}
    if storage_name == "azureStorage":
        key_vault = conv.take(v1_section, "keyVault", where, expected="{vaultName: ..., name: ...}", mapping=True)
        azure = conv.take(v1_section, "azureStorage", where,
                          expected="{accountName: ..., azureShare: ...}", mapping=True)
        conv.drop(v1_section, "uploadRetryCount", where)
        if not isinstance(key_vault, dict) or not isinstance(azure, dict):
            return None
        return {
            "storageType": "azureStorage",
            "azureAccount": conv.take(azure, "accountName", f"{where}.azureStorage"),
            "azureShare": conv.take(azure, "azureShare", f"{where}.azureStorage"),
            "keyVaultName": conv.take(key_vault, "vaultName", f"{where}.keyVault"),
            "keyVaultKey": conv.take(key_vault, "name", f"{where}.keyVault"),
        }
    conv.warn(f"{where}.storage", f"{storage_name!r} storage has no v2 form; the v2 config has no storage")
    return None
