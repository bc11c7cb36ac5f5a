"""ipywidgets controls whose state, set from the kernel, stays set.

Sliders: ipywidgets 8 draws them with noUiSlider, which snaps every value it is given to its
step grid through percentage arithmetic (0.9 on a 0..0.99 slider with step 0.01 comes back as
0.9000000000000001; 3e-3 on a log slider with step 0.1 as 10**-2.5). With
``continuous_update=True`` the view sends that snapped value to the kernel as if a person had
moved the handle, on every value the kernel sets. The message is handled only after the cell
that set the value has finished, so a cell setting ``0.9`` then ``0.0`` ends with the stale
``0.9000000000000001`` written back over ``0.0`` (and echoed to the page). With
``continuous_update=False`` the view sends only when a person releases the handle.

Drop-downs: ipywidgets treats the option value ``None`` as "nothing selected" (index None), so
an option like ``("auto", None)`` shows a blank box. :class:`ChoiceDropdown` keeps such a choice
under a stand-in value and gives ``None`` back through :meth:`ChoiceDropdown.choice`.
"""

from __future__ import annotations

from typing import Any

import ipywidgets
import traitlets


class FloatSlider(ipywidgets.FloatSlider):
    """A FloatSlider that reports a person's move on release and never rewrites kernel values."""

    continuous_update = traitlets.Bool(False, help="Fixed off: see the module docstring.").tag(sync=True)


class FloatLogSlider(ipywidgets.FloatLogSlider):
    """A FloatLogSlider that reports a person's move on release and never rewrites kernel values."""

    continuous_update = traitlets.Bool(False, help="Fixed off: see the module docstring.").tag(sync=True)


class _NoneValidated(traitlets.Any):
    """Any value, None included, goes through the owner's validators.

    traitlets skips validators for None when a trait allows None (and ``allow_none=False`` in
    the constructor does not turn ``Any``'s class default off).
    """

    allow_none = False


class ChoiceDropdown(ipywidgets.Dropdown):
    """A Dropdown whose options may include the value ``None`` as a real, visible choice.

    ``None`` is stored as the option's label (so the front end selects and shows it);
    :meth:`choice` maps it back. Setting ``value = None`` selects that option.
    """

    value = _NoneValidated(None, help="Selected value (None: the None option).")

    def __init__(self, options: list[tuple[str, Any]], value: Any = None, **kwargs: Any) -> None:
        self._none_label = next((label for label, option in options if option is None), None)
        stored = [(label, label if option is None else option) for label, option in options]
        super().__init__(options=stored, value=self._stored(value), **kwargs)

    def _stored(self, value: Any) -> Any:
        return self._none_label if value is None and self._none_label is not None else value

    @traitlets.validate("value")
    def _validate_value(self, proposal: Any) -> Any:
        proposal.value = self._stored(proposal.value)
        return super()._validate_value(proposal)

    def choice(self) -> Any:
        """Return the selected option's value (``None`` for the ``None`` option)."""
        return None if self._none_label is not None and self.value == self._none_label else self.value
