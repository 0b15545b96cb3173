# Copyright: ntp.autokey contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one base of every error this collection shows the operator as it is."""


class AutokeyError(ValueError):
    """A problem with the input, the files or ntpd's output that the operator must fix.

    The message is complete (it names the file or source and the fix), so the
    modules show it unchanged. A ValueError, as every subclass was before."""
