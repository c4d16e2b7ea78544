"""Install plugins from a marketplace: verify, check, approve, install, enable live.

The Python API the CLI and the admin "App store" page call is
:class:`comptoir.kernel.installer.service.Installer`, attached to each kernel as
``kernel.services["installer"]`` by :mod:`comptoir.kernel.installer.extension`.
"""
