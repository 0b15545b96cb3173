# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for the pip bootstrap script ansible-test downloads.

Its download host is out of reach here, so .ci/run copies this file to the
cache path ansible-test checks first. It installs pip with the interpreter's
own ensurepip, then lets pip install what ansible-test asked for (get-pip
takes `pip install` arguments plus two flags of its own). ensurepip switches
pip configuration off in its process, so pip runs in a fresh one.
"""
import ensurepip
import os
import subprocess
import sys

environment = dict(os.environ)
ensurepip.bootstrap()
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + args, env=environment))
