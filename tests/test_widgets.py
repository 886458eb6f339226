"""slider_view shows every control's description and value whole."""

import ipywidgets

from ddpg_helpers.widgets import slider_view


def test_a_selection_slider_shows_its_whole_value_in_a_label_beside_it():
    # The slider's own readout is at most 148 pixels wide: "final (episode 115)" showed as "final (episode".
    snapshot = ipywidgets.SelectionSlider(options=[("episode 0", "a"), ("final (episode 115)", "b")], value="b",
                                          description="snapshot")
    box = slider_view(lambda snapshot: [snapshot], snapshot=snapshot)
    [pair] = box.children[0].children
    slider, readout = pair.children
    assert slider is snapshot and not snapshot.readout and readout.value == "final (episode 115)"
    snapshot.value = "a"
    assert readout.value == "episode 0" and box.children[2].value == "a"


def test_descriptions_take_the_width_of_their_text_and_number_sliders_keep_their_readout():
    position = ipywidgets.FloatSlider(value=0.5, description="position in the valley")
    box = slider_view(lambda position: [f"{position}"], position=position)
    assert box.children[0].children == (position,) and position.readout
    assert position.style.description_width == "initial"
    assert box.children[0].layout.flex_flow == "row wrap"
