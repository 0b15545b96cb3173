# SPDX-License-Identifier: GPL-3.0-or-later
"""Write this collection's key material into a lab host's keysdir."""

from ansible_collections.ntp.autokey.plugins.module_utils.autokey.files import KeysDir
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.group_material import GroupMaterial, read_source
from ansible_collections.ntp.autokey.plugins.module_utils.autokey.host_material import HostMaterial

SIZES = {'iff': 2048, 'gq': 1016, 'mv': 512}


def host_keys(path, host, password, **kw):
    m = HostMaterial(KeysDir(path), host, password, **kw)
    m.plan()
    m.apply()
    return m.describe()


def group_master(path, scheme, password, **kw):
    kw.setdefault('size', SIZES[scheme])
    m = GroupMaterial(KeysDir(path), scheme, 'lab', password, generate=True, params=False, **kw)
    m.plan()
    m.apply()
    return m


def install(path, scheme, text, source_password=None, password=None, server_key=False, params=True):
    m = GroupMaterial(KeysDir(path), scheme, 'lab', password, source=read_source(scheme, text, source_password),
                      server_key=server_key, params=params)
    m.plan()
    m.apply()
    return m
