"""A fixture news web on loopback: two real HTTP sites on one port for the crawl tests.

``127.0.0.1:P`` is "dailyplanet", a news site with sections, pagination, an RSS feed, a sitemap
index (gzip urlset + Google News sitemap), robots.txt and every awkward case a news crawler
meets: tracking-parameter and fragment variants, an AMP copy, a 301, a 404, a 500, a PDF and a
robots-disallowed article. ``127.0.0.2:P`` is "partner", a syndication partner with its own
articles, an Atom feed and two near-identical copies of dailyplanet articles.

Everything served is rendered from the data model below, so tests assert against
``web.articles``, ``web.near_copies``, ``web.non_articles`` and ``web.disallowed_urls`` instead
of hard-coding URLs. All text is invented fiction.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import html
import json
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, quote, urlsplit
from xml.sax.saxutils import escape as xml_escape

DAILYPLANET = "dailyplanet"
PARTNER = "partner"
SITE_NAMES = (DAILYPLANET, PARTNER)
HOSTS = ("127.0.0.1", "127.0.0.2")

# The one line the partner adds to each syndicated copy: the only textual difference.
SYNDICATION_LINES = (
    "This article first appeared in the Daily Planet.",
    "Republished with permission from the Daily Planet.",
)


# --------------------------------------------------------------------------- data model


@dataclass(frozen=True)
class FixtureArticle:
    """An article as served right now; ``url`` is where it lives, without any variant."""

    site: str
    slug: str
    url: str
    canonical_url: str
    title: str
    author: str
    published: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class FixtureSite:
    """The entry points a crawler config needs for one site."""

    name: str
    base_url: str
    start_urls: tuple[str, ...]
    feeds: tuple[str, ...]
    sitemaps: tuple[str, ...]


class LoggedRequest(NamedTuple):
    host: str
    method: str
    path: str
    headers: dict[str, str]


@dataclass(frozen=True)
class _Story:
    """The static description of one article; its paragraphs may be replaced at run time."""

    site: str
    section: str
    slug: str
    title: str
    dek: str
    author: str
    published: str
    tags: tuple[str, ...]
    paragraphs: tuple[str, ...]

    @property
    def path(self) -> str:
        day = self.published[:10].replace("-", "/")
        if self.section == "private":
            return f"/private/{self.slug}.html"
        if self.site == PARTNER:
            return f"/news/{day}/{self.slug}/"
        return f"/{self.section}/{day}/{self.slug}.html"


def _paras(text: str) -> tuple[str, ...]:
    # stories are written as wrapped blocks separated by blank lines, to stay readable here
    blocks = [b for b in text.strip().split("\n\n") if b.strip()]
    return tuple(" ".join(b.split()) for b in blocks)


def _story(site: str, section: str, slug: str, published: str, author: str, tags: tuple[str, ...],
           title: str, dek: str, body: str) -> _Story:
    return _Story(site, section, slug, title, dek, author, published, tags, _paras(body))


# --------------------------------------------------------------------------- the stories

_DP_STORIES = (
    _story(
        DAILYPLANET, "world", "harbour-ferry-strike", "2026-05-02T07:45:00+00:00",
        "Mara Ellison", ("transport",),
        "Ferry crews in Port Halvern walk out over new night rota",
        "Commuters face a second day without the harbour crossing as talks stall.",
        """
        Ferry crews in Port Halvern walked off their boats at dawn on Saturday, leaving the
        harbour crossing silent for the first time in eleven years. The dispute centres on a new
        rota that would have deckhands work four consecutive night shifts, a change the operator
        says is needed to keep the late sailings running through the summer.

        By mid-morning the queue at the north pier stretched past the fish market. Some
        commuters paid for water taxis at triple the usual fare, while others gave up and walked
        the long way around the bay, a journey of almost two hours. “I have done this crossing
        every weekday since I was nineteen,” said one nurse. “Today I am simply going to be late.”

        The crews’ union argues that the rota was drawn up without consulting anyone who
        actually works on the water. Its regional secretary, Delphine Arkwright, said fatigue on
        the night boats was already a safety concern and that four nights in a row would make a
        serious accident more likely, not less.

        Halvern Harbour Lines, which runs the six-vessel fleet under a contract with the city,
        said it had offered an extra rest day every fortnight and a bonus for night work. A
        spokesperson called the walkout “premature” and said managers were ready to return to
        the table at any hour.

        City councillors are under pressure to intervene. The crossing carries roughly nine
        thousand passengers a day, and shopkeepers on the south quay say trade falls sharply
        whenever the boats stop. Several traders have asked the council to withhold part of the
        operator’s subsidy until the dispute is resolved.

        Talks are expected to resume on Monday under an independent mediator. Until then the
        operator has promised a reduced timetable using two boats crewed by managers, though the
        union has warned that any vessel sailing without its usual complement of qualified
        deckhands would be reported to the maritime inspectorate.
        """,
    ),
    _story(
        DAILYPLANET, "world", "mountain-village-election", "2026-05-01T16:20:00+00:00",
        "Tobias Wren", ("elections",),
        "Tarnwick Heights elects its first council in forty years",
        "A hamlet above the Orlen valley votes by lantern light in the old dairy.",
        """
        Residents of Tarnwick Heights, a hamlet of slate roofs perched above the Orlen valley,
        have elected a village council for the first time in four decades. The vote followed a
        petition signed by almost every adult in the community, who argued that decisions about
        their roads and school were being taken by officials who had never made the climb.

        Turnout reached ninety-one percent. Voting took place in the old dairy, where a borrowed
        ballot box sat on a cheese press and volunteers served soup to anyone who had walked up
        from the outlying farms. Counting finished shortly after midnight by the light of two
        camping lanterns after the generator ran out of fuel.

        The new five-member council includes a retired engineer, two sheep farmers, the village
        postmistress and a twenty-three-year-old woodworker who returned from the city last
        spring. She said she had stood because young families would only stay if someone fought
        for a reliable winter bus.

        Tarnwick lost its council in the 1980s when it was merged into the larger district of
        Orlen Bridge. Since then, villagers say, snow clearance has been an afterthought and a
        promised footbridge over the gorge has appeared in three separate budgets without a
        single stone being laid.

        District officials welcomed the result but cautioned that the council will have limited
        powers and a modest budget drawn largely from a local land levy. They said they hoped to
        agree a formal arrangement for sharing responsibilities before the first heavy snowfall
        of the coming winter.

        The council will hold its first meeting next week in the schoolhouse. Its members have
        already agreed one item for the agenda: a letter to the district asking, politely but
        firmly, for a date when work on the footbridge will finally begin.
        """,
    ),
    _story(
        DAILYPLANET, "world", "river-treaty-talks", "2026-04-30T11:05:00+00:00",
        "Ines Okafor", ("water", "climate"),
        "Upstream and downstream provinces reopen talks on sharing the Kessel",
        "Negotiators meet on a moored barge as drier summers strain a sixty-year-old treaty.",
        """
        Negotiators from the provinces of Vennland and Oskara met on a moored barge in the
        middle of the Kessel River on Thursday, reopening talks on how the two should share its
        water during increasingly dry summers. The location was chosen, officials said, because
        neither side wanted to be seen travelling to the other’s capital.

        The Kessel rises in the Vennland highlands and irrigates most of Oskara’s rice terraces
        before reaching the sea. A treaty signed sixty years ago guarantees Oskara a fixed
        minimum flow, but hydrologists say that figure was based on rainfall records that no
        longer describe the basin.

        Last August the river fell so low at the border gauge that farmers downstream abandoned
        a quarter of their planting. Vennland argues that it also suffered, pointing to
        reservoirs that dropped to a third of capacity and a hydroelectric plant that shut down
        for six weeks.

        Both delegations brought new proposals. Oskara wants a share of the flow that rises and
        falls with the season rather than a fixed amount, while Vennland has suggested a joint
        commission with the power to order emergency releases from its dams when the gauge falls
        below an agreed mark.

        Observers described the first session as cordial but slow. A three-hour discussion about
        whose measurements should count ended with an agreement to install a second, jointly
        operated gauge a kilometre downstream of the existing one, so that neither side could be
        accused of reading its own instrument too generously.

        The talks continue next month. Environmental groups on both banks have asked to attend
        as observers, arguing that the wetlands at the river mouth, home to several thousand
        migrating cranes each spring, have no government speaking for them at all.
        """,
    ),
    _story(
        DAILYPLANET, "world", "island-water-rationing", "2026-04-28T09:10:00+00:00",
        "Saanvi Dutt", ("water",),
        "Isle of Marrow rations water after desalination plant fails",
        "Sixty litres a day per household until a temporary plant arrives by sea.",
        """
        Households on the Isle of Marrow are limited to sixty litres of tap water a day after
        the island’s only desalination plant broke down during a storm surge last week.
        Engineers say a pump housing flooded with seawater and that replacement parts must be
        shipped from the mainland.

        The island council has set up four distribution points where residents can collect
        bottled water from the back of fishing trucks. Schools have moved to half days, and the
        island’s two hotels have asked guests to shower briefly and reuse towels, a request one
        manager admitted “has not been universally welcomed.”

        Marrow has about three thousand permanent residents, a number that roughly triples in
        the summer. Islanders have warned for years that relying on a single plant left them
        exposed, and a plan to build a second unit on the eastern headland was shelved in 2023
        because of cost.

        A supply vessel carrying a temporary containerised plant is due to arrive on Tuesday,
        weather permitting. It will produce about a third of normal demand, enough, the council
        says, to lift the daily limit to ninety litres while the main plant is repaired.

        Some residents have turned to older habits. Rain barrels that had sat empty in gardens
        for a decade have been scrubbed out, and a retired plumber has been offering free checks
        of the cisterns beneath several old stone cottages, many of which were built to collect
        winter rain long before the island was connected to any pipe.

        The council’s leader said the episode would reopen the case for a second plant. “We
        were told the risk was small,” she said. “It turns out small is not the same as never.”
        """,
    ),
    _story(
        DAILYPLANET, "world", "border-market-reopens", "2026-04-27T06:30:00+00:00",
        "Tobias Wren", ("transport",),
        "Weekly market returns to the Dunmere crossing after three years",
        "Chestnuts, honey and old friendships cross the barrier again.",
        """
        Stallholders from both sides of the Dunmere crossing set up their tables on the old
        customs apron on Wednesday, reviving a weekly market that had been closed for three
        years. By nine in the morning the smell of roasting chestnuts and diesel mingled over a
        crowd that border guards estimated at more than two thousand people.

        The market dates back at least two centuries, according to the parish records of the
        nearest town. It survived two wars and a flood, but closed abruptly when new inspection
        rules made it impossible for traders to bring fresh food across without lengthy
        paperwork.

        Under an arrangement agreed in March, traders may now carry up to fifty kilograms of
        produce each way with a simple permit issued at the gate. Cheese, honey, woollen goods
        and hand tools are allowed; live animals and alcohol are not.

        For many stallholders the reopening was as much about friendships as money. One woman
        selling embroidered tablecloths embraced a spice seller she had not seen since the
        closure. They had kept in touch by post, she said, because neither trusted the telephone
        lines in the hills.

        Local officials hope the market will bring back the coach tours that once stopped at
        the crossing on their way to the lakes. A café on the far side of the barrier,
        shuttered since the closure, reopened for the day and ran out of pastries before eleven.

        Not everyone is pleased. Hauliers say the crowds add an hour to already slow
        inspections of freight lorries on market days, and have asked for a separate lane.
        Officials said they would review traffic after the first month.
        """,
    ),
    _story(
        DAILYPLANET, "world", "lighthouse-keepers-return", "2026-04-24T14:00:00+00:00",
        "Harriet Quill", ("oceans",),
        "Keepers return to Cape Orrin lighthouse, this time for visitors",
        "A trust reopens the tower with a museum of logbooks and letters.",
        """
        For the first time since its lamp was automated in 1994, the Cape Orrin lighthouse has
        resident keepers again. The couple who moved into the whitewashed cottage at its foot
        this month will not be trimming wicks, however. Their job is to welcome visitors, run a
        small museum and keep the grounds from sliding any further into the sea.

        The lighthouse trust that owns the site bought it from the coastal authority for a
        symbolic sum last year, on condition that the light itself remains under official
        control. The beam still sweeps the headland every twelve seconds, operated remotely from
        a control room more than a hundred kilometres away.

        The new keepers, a former ship’s cook and a schoolteacher, were chosen from more than
        four hundred applicants. They said the advertisement, which asked for people
        “comfortable with wind, solitude and questions from children,” described them perfectly.

        The museum occupies what was once the oil store. It holds a brass fog bell, logbooks
        dating back to the 1870s and a collection of letters from keepers’ wives describing
        winters when the supply boat could not land for weeks. Volunteers spent the spring
        transcribing the letters so visitors can read them.

        Erosion is the trust’s biggest worry. The cliff edge has moved eight metres closer to
        the tower in thirty years, and engineers have advised that a rock barrier at its base be
        repaired before the autumn gales. The trust has launched an appeal to cover the cost.

        On opening weekend more than six hundred people climbed the hundred and twelve steps to
        the lamp room. Several brought grandparents who remembered the last keepers. One elderly
        visitor pointed out a window ledge where, he said, he had carved his initials as a boy
        in 1961. They were still there.
        """,
    ),
    _story(
        DAILYPLANET, "science", "deep-sea-vent-survey", "2026-05-02T10:15:00+00:00",
        "Leopold Varga", ("oceans", "research"),
        "Robot submarine maps hidden vent field in the Velden Trench",
        "Forty chimneys, dense shrimp swarms and a snail with an iron shell.",
        """
        An autonomous submarine has mapped a field of hydrothermal vents nearly three thousand
        metres down in the Velden Trench, researchers announced this week. The vents, which pour
        out mineral-rich water at temperatures above three hundred degrees, had been suspected
        from chemical traces in the water but never seen.

        The vehicle, a torpedo-shaped robot nicknamed Marlow by the team that built it, spent
        thirty-one hours surveying the trench floor on a single charge. It followed a lawnmower
        pattern across the slope, using sonar to build a map and pausing to photograph anything
        that looked like a chimney.

        The images show more than forty chimneys, some taller than a house, crusted with pale
        bacterial mats. Around their bases are dense clusters of shrimp and at least one kind of
        snail that the team believes has not been described before. Its shell appears to be
        reinforced with iron sulphide.

        “We planned for two days of searching and expected to find nothing,” said the
        expedition’s chief scientist, Dr Oona Feld. “Marlow found the first chimney in the
        fourth hour. For the rest of the dive we were mostly arguing about which one to look at
        next.”

        Vent fields are of interest to biologists because the communities living around them
        draw their energy from chemistry rather than sunlight. They are also of interest to
        mining companies, because the chimneys contain copper, zinc and traces of gold. The
        researchers urged that the Velden field be protected before any prospecting licences are
        considered.

        The team plans to return next year with a crewed submersible to collect samples of the
        snail. Until then, the data and photographs from the survey will be published openly so
        that other groups can study the site without needing a ship of their own.
        """,
    ),
    _story(
        DAILYPLANET, "science", "glacier-sensor-network", "2026-05-01T08:00:00+00:00",
        "Saanvi Dutt", ("climate", "research"),
        "Students wire up the Brennholt glacier to listen for meltwater",
        "Forty sensors in hot-water boreholes will track the pulse beneath the ice.",
        """
        A group of university students has spent three weeks drilling holes into the Brennholt
        glacier to install a network of sensors that will listen to water moving beneath the
        ice. The forty devices, each the size of a drinks can, will report pressure and
        temperature every ten minutes through the summer melt.

        The project is an attempt to understand why Brennholt has been surging, suddenly sliding
        forward by several metres a day before slowing down again. Glaciologists suspect that
        pockets of meltwater collect under the ice and act as a lubricant, but nobody has been
        able to measure when and where that happens.

        Installing the sensors meant using a hot-water drill, essentially a pressure washer that
        melts its way through the ice. The team camped on a rock ridge beside the glacier,
        hauling fuel up by sledge every other day. Two students were treated for mild frostbite
        after a storm pinned the camp down for a night.

        Each sensor hangs on a cable at the bottom of its borehole and sends its readings up to
        a small radio box frozen into the surface. From there the data travel by relay to a
        station at the valley hut, where a solar-powered computer uploads them whenever the
        mobile signal allows.

        Dr Anselm Roeder, who supervises the project, said early readings already showed
        pressure rising at the upper end of the glacier each afternoon and falling overnight, a
        pattern that fits the idea of a daily pulse of meltwater. He cautioned that one season
        of data would not settle the question.

        The results matter beyond the valley. Brennholt feeds a river used by three
        hydroelectric plants, and operators want warning of surges that could release sudden
        floods. The students intend to leave the network in place through the winter to see
        whether the water beneath the ice ever truly stops moving.
        """,
    ),
    _story(
        DAILYPLANET, "science", "bee-navigation-study", "2026-04-29T13:30:00+00:00",
        "Mara Ellison", ("research",),
        "Bumblebees steer by the polarised sky even under cloud, study finds",
        "Six thousand radar-tracked flights beneath a rotating filter.",
        """
        Bumblebees can find their way home using patterns of polarised light even on days when
        thick cloud hides the sun, according to a study from the University of Aldercombe. The
        researchers say the finding helps explain how bees keep foraging efficiently in regions
        where overcast weather is the norm.

        Light from the sky is partly polarised, meaning its waves vibrate more strongly in one
        direction than others. The pattern shifts with the position of the sun and remains
        detectable through thin cloud. Many insects are known to use it as a compass, but
        bumblebees were thought to rely mostly on landmarks.

        To test the idea, the team placed hives beneath a large rotating filter that could twist
        the polarisation pattern overhead without changing anything else the bees could see.
        When the filter was turned by ninety degrees, returning bees consistently flew off
        course by roughly the same angle before correcting themselves near the hive.

        The experiment ran over two summers and involved more than six thousand tracked flights.
        Each bee carried a tiny reflective tag, and a harmonic radar on the roof of the field
        station recorded its path. Lead author Dr Yusra Pemberton said the radar allowed them to
        follow individual bees for up to eight hundred metres.

        The authors caution that bees almost certainly combine several cues, including scent,
        landmarks and the earth’s magnetic field. The polarised sky appears to be most important
        at the start of a journey home, when a bee must choose a rough direction before anything
        familiar comes into view.

        The full report, including flight maps and the design of the rotating filter, has been
        published by the university. The team now wants to find out whether the same ability
        survives in bees exposed to common agricultural sprays, some of which are suspected of
        disrupting their sense of direction.
        """,
    ),
    _story(
        DAILYPLANET, "science", "meteorite-museum-find", "2026-04-25T15:45:00+00:00",
        "Harriet Quill", ("research",),
        "Meteorite found in a forgotten museum drawer at Saltby",
        "A “curious doorstop” turns out to have fallen from space.",
        """
        A volunteer cataloguing the stores of the Saltby Town Museum has identified a fist-sized
        lump of metal labelled “curious doorstop” as an iron meteorite. The object had sat in a
        wooden drawer since at least 1932, when it appears in a handwritten list of items
        donated by a local blacksmith’s family.

        The volunteer, a retired geography teacher named Rowan Tilley, said she noticed the stone
        was far heavier than it looked and that a fridge magnet clung to it firmly. She
        photographed a polished corner where someone had once tried to file it down and sent the
        pictures to a university geology department.

        Tests there confirmed a nickel-iron composition and the distinctive criss-cross crystal
        pattern that forms only when metal cools extremely slowly inside an asteroid. The
        specimen weighs just over four kilograms and is thought to have fallen to earth
        thousands of years ago.

        Museum staff have begun searching local newspapers for any mention of a fireball or a
        strange find on a farm in the nineteenth century. The blacksmith’s great-granddaughter,
        who still lives in the town, recalled a family story about a “hot stone” ploughed up in
        a turnip field, but said nobody had ever taken it seriously.

        The meteorite will go on display in the autumn alongside the original donation list and
        the file marks left by its earlier owners. The museum has decided not to sell it,
        despite interest from private collectors, saying it belongs to the town that kept it,
        however unknowingly, for almost a century.

        The discovery has prompted a wave of calls. Since the news spread, the museum says it
        has received more than a hundred messages from people convinced that an odd rock in
        their garden is also from space. So far, every one has turned out to be slag from the
        old ironworks.
        """,
    ),
    _story(
        DAILYPLANET, "world", "night-train-returns", "2026-05-03T05:50:00+00:00",
        "Leopold Varga", ("transport",),
        "Night train between Ravensmoor and Kell returns after a decade",
        "A brass band sees off the first sleeper since 2016.",
        """
        A sleeper train linking the northern port of Ravensmoor with the spa town of Kell left
        the station on Friday evening for the first time in ten years, carrying a full load of
        passengers and a brass band that played on the platform until the doors closed.

        The service was withdrawn in 2016 when the state railway said it was losing money on
        every journey. Its revival has been driven by a small private operator that leases
        refurbished carriages and sells tickets mainly online, pitching the overnight trip as a
        way to travel without flying or spending a day on the motorway.

        The train runs three nights a week and takes eleven hours to cover a route that a car
        can drive in seven. Passengers choose between reclining seats, six-berth couchettes and
        a handful of private compartments with a washbasin. Breakfast is served as the train
        descends through the pine forests above Kell.

        Early demand has surprised even the operator. Tickets for the first month sold out
        within days, and the company says it is looking for additional carriages. Most buyers,
        according to its figures, are under thirty-five, a group that rarely used the old
        service.

        Rail campaigners say the revival shows that overnight trains can work when they are
        marketed properly and when track access charges are set sensibly. Sceptics point out
        that the operator depends on a temporary subsidy from the regional government, which is
        due to expire in two years.

        For the band, at least, the night was a success. Its conductor, who had travelled on
        the old train as a student, bought a ticket for the inaugural journey and said he
        intended to play one last tune at Kell station at seven the next morning, whether the
        other passengers were awake or not.
        """,
    ),
    _story(
        DAILYPLANET, "science", "seed-bank-inventory", "2026-04-20T10:00:00+00:00",
        "Tobias Wren", ("climate",),
        "Regional seed bank finishes its first full count in twenty years",
        "Eighteen thousand packets tested, and a purple pea thought lost is found.",
        """
        Staff at the Highmoor seed bank have completed the first full inventory of its
        collection in twenty years, counting and testing more than eighteen thousand packets of
        seeds stored in a converted cold store beneath the agricultural college.

        The bank holds varieties of barley, oats, beans and fruit trees collected from farms
        across the region, many of them grown for generations by a single family. Some of the
        oldest samples were gathered in the 1970s by a botanist who travelled from farm to farm
        on a motorcycle with a sidecar full of envelopes.

        Seeds lose their ability to germinate over time, even when kept dry and cold. The
        inventory team planted a small sample from every packet in trays and recorded how many
        sprouted. About one packet in nine failed the test and will need to be regrown in the
        college’s fields to refresh the stock.

        The count also turned up surprises. A box marked simply “peas, unknown” turned out to
        contain a purple-podded variety thought to have disappeared from cultivation, and a
        shelf of misfiled apple pips was traced back to an orchard that was cleared for a
        housing estate in 1988.

        The seed bank’s curator, Agnes Moorcroft, said the work had been slow but essential.
        Farmers increasingly ask for older varieties that cope better with drought or late
        frost, she said, and the bank can only help them if it knows exactly what it holds and
        whether it is still alive.

        The college plans to publish the full catalogue online next year. In the meantime, a
        small selection of recovered varieties, including the purple pea, will be grown in a
        demonstration garden that opens to the public in June.
        """,
    ),
)

_PRIVATE_STORY = _story(
    DAILYPLANET, "private", "council-budget-draft", "2026-05-03T18:00:00+00:00",
    "Newsroom", ("transport",),
    "DRAFT, not for publication: Halvern harbour budget notes",
    "Internal notes for the desk; do not link.",
    """
    Draft notes for the newsroom only. The city’s finance committee is expected to propose
    cutting the harbour maintenance budget by a fifth next year, according to papers seen by
    this desk but not yet confirmed by a second source.

    The cut would fall mainly on dredging and on repairs to the north pier, which engineers
    flagged as urgent in a survey two winters ago. Nobody on the committee has agreed to speak
    on the record, and two members say the papers are an early option rather than a plan.

    Before this runs we need the full survey, a comment from the harbour master and the
    committee’s response in writing. The figures in the second table do not add up and must be
    checked against last year’s accounts line by line.

    Legal has asked that the names of the officials in the covering email be removed. Please do
    not share the documents outside the investigations team, and do not store copies on shared
    drives until the story has been cleared.

    Target date for publication is the week after the mediation talks, if the numbers hold up.
    If they do not, this becomes a shorter piece on the pier survey alone.
    """,
)

_PT_STORIES = (
    _story(
        PARTNER, "news", "orchard-cooperative-press", "2026-05-04T09:00:00+02:00",
        "Joel Brannock", ("farming",),
        "Fennick Vale orchard cooperative votes to build its own cider press",
        "Growers tired of selling windfalls for less than the diesel costs.",
        """
        Members of the Fennick Vale orchard cooperative have voted to build a shared cider
        press, ending a long tradition of selling their windfall apples to a factory two hours
        away for a price that many say no longer covers the diesel.

        The cooperative was founded fifteen years ago by eight families who wanted to buy
        fertiliser and ladders in bulk. It now has thirty-four members, ranging from a retired
        surgeon with a dozen trees to a farm that manages more than two thousand.

        The press will be housed in a disused milking parlour donated by one of the founding
        families. Members have pledged a small sum each and hope to secure a rural development
        grant for the rest. The plan includes a bottling line that can be hired by outsiders
        during the quiet months.

        Supporters say the press would let growers keep more of the value of their fruit and
        encourage them to replant old varieties suited to cider rather than dessert apples.
        Several members already make small batches in their kitchens and have volunteered to
        share recipes, though not, one admitted, all of their secrets.

        Opponents within the cooperative worry about the risk. A bad harvest or a fall in demand
        could leave members repaying a loan for equipment that sits idle. The vote passed by
        twenty-two to twelve after a meeting that lasted until almost midnight.

        If the grant is approved, building work will start in the winter and the first pressing
        is planned for next September. The cooperative has already chosen a name for its first
        bottle, although members have agreed to keep it secret until the label is printed.
        """,
    ),
    _story(
        PARTNER, "news", "tram-extension-hospital", "2026-05-03T17:30:00+02:00",
        "Petra Lindahl", ("transport",),
        "Corrowby tram extension to reach the hospital by next spring",
        "Grooved rail and extra brakes take the line up Weaver Street hill.",
        """
        Work on extending Corrowby’s tram line to the general hospital is ahead of schedule,
        city engineers said on Monday, and the first passenger trams could reach the new
        terminus by next spring.

        The two-kilometre extension branches off the existing line at Weaver Street and climbs a
        steep hill that had long been considered too difficult for trams. Engineers solved the
        problem with a short stretch of specially grooved rail and trams fitted with extra
        braking equipment.

        The project has not been painless. Shops along Weaver Street have endured eighteen
        months of fenced-off pavements and diverted buses. The city set up a compensation fund
        for affected businesses, but several owners say the payments arrived too late to stop
        them cutting staff.

        Hospital managers are among the keenest supporters. Around four thousand staff work at
        the site, and the car park has been so overcrowded that nurses on early shifts routinely
        arrive an hour before they start just to find a space. A tram every six minutes,
        managers say, could change that.

        The extension is also intended to serve a new housing district being built on former
        railway land next to the hospital. Planners expect around two thousand homes there
        within a decade and want residents to rely on public transport rather than cars from the
        day they move in.

        Test runs are due to begin in January, first with empty trams carrying sandbags to
        simulate passengers. The city has promised a free day of travel on the new section once
        it opens, a tradition that began when the very first Corrowby tram ran in 1902.
        """,
    ),
    _story(
        PARTNER, "news", "ashgrove-choir-festival", "2026-05-03T08:15:00+02:00",
        "Joel Brannock", ("culture",),
        "Ashgrove choir festival returns with a record number of singers",
        "Nine hundred voices, sixty choirs and one badly dented silver cup.",
        """
        More than nine hundred singers from sixty choirs are expected in Ashgrove this weekend
        for the town’s annual choir festival, the largest gathering in its forty-year history.

        The festival began in a church hall as a friendly contest between two rival male voice
        choirs. It now fills every hall, chapel and school in the town, and this year organisers
        have added an open-air stage in the market square for the final concert on Sunday
        evening.

        Among the newcomers is a choir formed last year by workers at a parcel depot, who began
        singing together during night shifts to keep themselves awake. Their repertoire, their
        conductor admits, leans heavily on songs with strong rhythms that could be sung while
        loading vans.

        The festival’s organisers say the growth has brought practical headaches. Every guest
        house for twenty kilometres is full, and the local bakery has taken on extra staff to
        produce the famous currant buns that are handed to each choir as it leaves the stage.

        Judging remains a serious business. A panel of three adjudicators scores each
        performance on tone, blend and interpretation, and the winning choir takes home a silver
        cup that has been dented, repaired and engraved so many times that the earliest names
        are no longer legible.

        Tickets for the final concert sold out in April, but the organisers have arranged for it
        to be broadcast on screens in the park. Anyone in the audience, they say, will be
        invited to join the massed choirs for the closing hymn, as has happened every year since
        the first festival.
        """,
    ),
)

# (original slug, extra line, extra line goes first?, partner publication time)
_SYNDICATIONS = (
    ("harbour-ferry-strike", SYNDICATION_LINES[0], False, "2026-05-02T14:00:00+02:00"),
    ("deep-sea-vent-survey", SYNDICATION_LINES[1], True, "2026-05-02T16:30:00+02:00"),
)

# --------------------------------------------------------------------------- site layout

# Reachability is part of the contract with the tests, so it is spelled out here, not derived.
_HOME_SLUGS = (
    "harbour-ferry-strike", "mountain-village-election", "river-treaty-talks",
    "deep-sea-vent-survey", "glacier-sensor-network", "bee-navigation-study",
)
_SECTIONS = {
    "world": ("World", (
        ("harbour-ferry-strike", "mountain-village-election", "river-treaty-talks"),
        ("island-water-rationing", "border-market-reopens"),
        ("lighthouse-keepers-return",),
    )),
    "science": ("Science", (
        ("deep-sea-vent-survey", "glacier-sensor-network", "bee-navigation-study"),
        ("meteorite-museum-find",),
    )),
}
_FEED_ONLY = "night-train-returns"
_SITEMAP_ONLY = "seed-bank-inventory"
_DEEP_ONLY = ("island-water-rationing", "lighthouse-keepers-return", "meteorite-museum-find")
_FEED_SLUGS = (
    "night-train-returns", "harbour-ferry-strike", "deep-sea-vent-survey",
    "mountain-village-election", "glacier-sensor-network", "border-market-reopens",
)
_SITEMAP_SLUGS = (
    "harbour-ferry-strike", "mountain-village-election", "river-treaty-talks",
    "border-market-reopens", "deep-sea-vent-survey", "glacier-sensor-network",
    "bee-navigation-study", "seed-bank-inventory",
)
_NEWS_SITEMAP_SLUGS = (
    "harbour-ferry-strike", "deep-sea-vent-survey", "mountain-village-election",
    "glacier-sensor-network",
)
_AMP_SLUG = "harbour-ferry-strike"
_PDF_SLUG = "bee-navigation-study"
_OLD_PATH, _OLD_TARGET = "/old/brennholt-sensors", "glacier-sensor-network"
_UTM_SLUG, _UTM_QUERY = "river-treaty-talks", "?utm_source=twitter&utm_medium=social"
_FBCLID_SLUG, _FBCLID_QUERY = "deep-sea-vent-survey", "?fbclid=abc123"
_FEED_UTM_SLUG, _FEED_UTM_QUERY = "mountain-village-election", "?utm_source=rss&utm_medium=feed"
_COMMENTS_SLUG = "mountain-village-election"
_MISSING_PATH = "/world/2026/04/29/withdrawn-story.html"
_PDF_PATH = "/files/report.pdf"
_SITE_EPOCH = dt.datetime(2026, 4, 1, 0, 0, tzinfo=dt.UTC)

# --------------------------------------------------------------------------- boilerplate

_COOKIE_TEXT = "We use cookies to remember your reading preferences and count visits."
_DONATE_TEXT = (
    "The Daily Planet is funded by its readers. Chip in the price of a coffee and keep our "
    "reporters in the field."
)
_NEWSLETTER_TEXT = "Get the Partner Wire morning briefing in your inbox every weekday at six."
_COMMENTS = (
    ("harbourwatcher", "I have been saying for years that this town needs a plan B for "
     "when things go wrong."),
    ("quillfeather_72", "Shared this with my book club and we argued about it for an hour, "
     "which is a good sign."),
    ("north_pier_nan", "Could the editors please add a map next time? I could not picture "
     "where any of this was."),
)
BOILERPLATE_PHRASES = (
    _COOKIE_TEXT, _DONATE_TEXT, _NEWSLETTER_TEXT, *(text for _, text in _COMMENTS),
    "Skip to content", "More from the Daily Planet", "Share on Chirper",
    "Most read on Partner Wire",
)

_ABOUT_DP = (
    "The Daily Planet has covered the harbour towns and hill villages of the northern coast "
    "since 1921, when a printer and two fishermen’s daughters published the first four-page "
    "edition from a shed behind the customs house.",
    "Today we are a newsroom of thirty-eight people, owned by a trust that reinvests every "
    "penny of profit in reporting. We do not take money from political parties, and our "
    "editors answer to a readers’ panel that meets in public twice a year.",
    "Corrections are published at the foot of the story they concern, with the date they "
    "were made. If you think we have got something wrong, write to the standards editor and "
    "you will receive a reply from a person, not a form.",
)
_ABOUT_PT = (
    "Partner Wire is a cooperative newsroom owned by its reporters, covering the valleys and "
    "market towns that larger outlets visit only when something goes badly wrong.",
    "We share stories with the Daily Planet under a content agreement, so some articles on "
    "this site were first published there and appear here with permission.",
)


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _pdf_bytes(title: str, lines: Iterable[str]) -> bytes:
    """A one-page PDF with a correct xref table, so strict PDF readers accept it."""
    ops = ["BT /F1 12 Tf 72 740 Td"]
    ops += [f"({_pdf_escape(line)}) Tj 0 -18 Td" for line in lines]
    stream = (" ".join(ops) + " ET").encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        f"<< /Title ({_pdf_escape(title)}) /Producer (fixtureweb) >>".encode("latin-1"),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


REPORT_PDF = _pdf_bytes(
    "Polarised light and bumblebee homing",
    (
        "University of Aldercombe - Field Station Report 14",
        "Polarised light and bumblebee homing under overcast skies",
        "Summary: 6,112 radar-tracked flights over two summers.",
        "A rotating filter shifted homing bearings by about 90 degrees.",
    ),
)


def _syndicated(slug: str, line: str, first: bool, published: str) -> _Story:
    original = next(s for s in _DP_STORIES if s.slug == slug)
    paragraphs = (line, *original.paragraphs) if first else (*original.paragraphs, line)
    return _Story(PARTNER, "syndicated", slug, original.title, original.dek, original.author,
                  published, original.tags, paragraphs)


_SYNDICATED = tuple(_syndicated(*spec) for spec in _SYNDICATIONS)


def _syndicated_path(story: _Story) -> str:
    return f"/syndicated/{story.slug}/"


# --------------------------------------------------------------------------- rendering helpers

Query = dict[str, list[str]]
Handler = Callable[[Query], "_Response"]


@dataclass(frozen=True)
class _Response:
    status: int
    content_type: str
    body: bytes
    last_modified: dt.datetime | None = None
    headers: tuple[tuple[str, str], ...] = ()


def _e(text: str) -> str:
    return html.escape(text)


def _when(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


def _display_date(iso: str) -> str:
    moment = _when(iso)
    return f"{moment.day} {moment:%B %Y}, {moment:%H:%M}"


def _http_date(moment: dt.datetime) -> str:
    return format_datetime(moment.astimezone(dt.UTC), usegmt=True)


def _w3c(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _jsonld(data: dict[str, Any]) -> str:
    # "</" inside a script element would end it early
    text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return f'<script type="application/ld+json">{text}</script>'


def _html(text: str, status: int = 200, last_modified: dt.datetime | None = None) -> _Response:
    return _Response(status, "text/html; charset=utf-8", text.encode("utf-8"), last_modified)


def _xml(text: str, content_type: str, last_modified: dt.datetime) -> _Response:
    return _Response(200, content_type, text.encode("utf-8"), last_modified)


def _static(render: Callable[[], _Response]) -> Handler:
    return lambda query: render()


class _State:
    """The mutable part of the web: each article's current body and modification time."""

    def __init__(self, stories: Iterable[_Story]) -> None:
        self._lock = threading.Lock()
        self._paragraphs = {s.slug: s.paragraphs for s in stories}
        self._modified = {s.slug: _when(s.published) for s in stories}

    def get(self, slug: str) -> tuple[tuple[str, ...], dt.datetime]:
        with self._lock:
            return self._paragraphs[slug], self._modified[slug]

    def update(self, slug: str, paragraphs: tuple[str, ...]) -> None:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        with self._lock:
            # HTTP dates have one-second resolution: every update must move Last-Modified on
            later = self._modified[slug] + dt.timedelta(seconds=1)
            self._paragraphs[slug] = paragraphs
            self._modified[slug] = max(now, later)


_INLINE_AD = '<div class="ad-slot ad-inline" aria-hidden="true">Advertisement</div>'


class _Pages:
    """What both sites' renderers share: base URLs, stories and their current state."""

    def __init__(self, dp_base: str, pt_base: str, state: _State) -> None:
        self.dp = dp_base
        self.pt = pt_base
        self.state = state
        self.stories = {s.slug: s for s in (*_DP_STORIES, _PRIVATE_STORY, *_PT_STORIES)}

    def story_url(self, slug: str) -> str:
        story = self.stories[slug]
        return (self.pt if story.site == PARTNER else self.dp) + story.path

    def modified(self, slugs: Iterable[str]) -> dt.datetime:
        return max(self.state.get(slug)[1] for slug in slugs)

    @staticmethod
    def time_tag(story: _Story) -> str:
        return f'<time datetime="{story.published}">{_display_date(story.published)}</time>'

    def body_html(self, paragraphs: Iterable[str], ad_after: int | None = None,
                  credit_url: str = "") -> str:
        parts = []
        for index, text in enumerate(paragraphs):
            parts.append(f"<p>{self.credit_link(text, credit_url)}</p>")
            if index == ad_after:
                parts.append(_INLINE_AD)
        return "\n".join(parts)

    @staticmethod
    def credit_link(text: str, credit_url: str) -> str:
        # the syndication credit links back to the original, as partners' credits do
        if not credit_url or text not in SYNDICATION_LINES:
            return _e(text)
        return _e(text).replace("the Daily Planet", f'<a href="{credit_url}">the Daily Planet</a>')


# --------------------------------------------------------------------------- dailyplanet


def _dp_tags() -> tuple[str, ...]:
    return tuple(sorted({tag for story in _DP_STORIES for tag in story.tags}))


class _DailyPlanet(_Pages):
    """Renders the news site on 127.0.0.1."""

    NAME = "The Daily Planet"

    def routes(self) -> dict[str, Handler]:
        table: dict[str, Handler] = {
            "/": _static(self.home),
            "/about/": _static(self.about),
            "/robots.txt": _static(self.robots),
            "/feed.xml": _static(self.feed),
            "/sitemap_index.xml": _static(self.sitemap_index),
            "/sitemap-1.xml.gz": _static(self.sitemap_gz),
            "/news-sitemap.xml": _static(self.news_sitemap),
            "/broken/": _static(self.broken),
            _PDF_PATH: _static(lambda: _Response(200, "application/pdf", REPORT_PDF, _SITE_EPOCH)),
            _OLD_PATH: _static(lambda: self.redirect(self.story_url(_OLD_TARGET))),
            f"/amp/{_AMP_SLUG}.html": _static(lambda: self.amp(_AMP_SLUG)),
        }
        for key in _SECTIONS:
            table[f"/{key}/"] = lambda query, key=key: self.section(key, query)
        for tag in _dp_tags():
            table[f"/tag/{tag}/"] = lambda query, tag=tag: self.tag(tag)
        for story in (*_DP_STORIES, _PRIVATE_STORY):
            table[story.path] = lambda query, slug=story.slug: self.article(slug)
        return table

    # -- layout

    def page(self, *, title: str, path: str | None, og_type: str, main: str,
             head: str = "") -> str:
        canonical = ""
        if path is not None:
            url = _e(self.dp + path)
            canonical = f'<meta property="og:url" content="{url}">\n'
            canonical += f'<link rel="canonical" href="{url}">'
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<meta property="og:type" content="{og_type}">
<meta property="og:site_name" content="{self.NAME}">
{canonical}
<link rel="alternate" type="application/rss+xml" title="{self.NAME}" href="{self.dp}/feed.xml">
{head}
<style>body{{font-family:Georgia,serif;max-width:48rem;margin:auto}}
.skip-link{{position:absolute;left:-999px}}.ad-slot{{background:#eee;min-height:90px}}</style>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<div class="cookie-banner" role="dialog"><p>{_COOKIE_TEXT}</p><button>Accept</button></div>
<header class="masthead">
<a class="logo" href="/">{self.NAME}</a>
<nav class="primary-nav" aria-label="Sections"><ul>
<li><a href="/">Home</a></li><li><a href="/world/">World</a></li>
<li><a href="/science/">Science</a></li><li><a href="/about/">About</a></li>
</ul></nav>
</header>
<div class="ad-slot ad-leaderboard" aria-hidden="true">Advertisement</div>
<main id="main">
{main}
</main>
<footer class="site-footer">
<p>© 2026 {self.NAME}. Independent news from the northern coast.</p>
<ul><li><a href="/about/">About us</a></li><li><a href="/broken/">Live blog</a></li>
<li><a href="/feed.xml">RSS</a></li>
<li><a href="https://social.example/dailyplanet">Follow us</a></li></ul>
</footer>
</body>
</html>
"""

    def teaser(self, slug: str, query: str = "", comments: bool = False) -> str:
        story = self.stories[slug]
        url = _e(self.story_url(slug) + query)
        extra = f' · <a href="{url}#comments">Comments</a>' if comments else ""
        return f"""<article class="teaser">
<h3><a href="{url}">{_e(story.title)}</a></h3>
<p class="teaser-dek">{_e(story.dek)}</p>
<p class="teaser-meta">{self.time_tag(story)}{extra}</p>
</article>"""

    # -- listing pages (never articles)

    def home(self) -> _Response:
        teasers = "\n".join(
            self.teaser(slug, comments=slug == _COMMENTS_SLUG) for slug in _HOME_SLUGS
        )
        trending = self.stories[_UTM_SLUG]
        old = self.stories[_OLD_TARGET]
        main = f"""<h1 class="visually-hidden">{self.NAME}: front page</h1>
<section class="top-stories"><h2>Top stories</h2>
{teasers}
</section>
<section class="trending"><h2>Trending</h2><ol>
<li><a href="{_e(self.story_url(_UTM_SLUG) + _UTM_QUERY)}">{_e(trending.title)}</a></li>
</ol></section>
<section class="more"><h2>Also on the Planet</h2><ul>
<li><a href="/amp/{_AMP_SLUG}.html">Ferry strike: the lite edition</a></li>
<li><a href="{_OLD_PATH}">From the archive: {_e(old.title)}</a></li>
<li><a href="{_PRIVATE_STORY.path}">Halvern harbour budget (draft)</a></li>
<li><a href="{_MISSING_PATH}">Correction: a story we have withdrawn</a></li>
<li><a href="/tag/climate/">More on climate</a></li>
</ul></section>"""
        head = _jsonld({"@context": "https://schema.org", "@type": "WebSite",
                        "name": self.NAME, "url": self.dp + "/"})
        return _html(self.page(title=f"{self.NAME}: news from the northern coast", path="/",
                               og_type="website", main=main, head=head))

    def section(self, key: str, query: Query) -> _Response:
        label, pages = _SECTIONS[key]
        try:
            number = int(query.get("page", ["1"])[0])
        except ValueError:
            return self.not_found()
        if not 1 <= number <= len(pages):
            return self.not_found()
        teasers = "\n".join(
            self.teaser(slug, _FBCLID_QUERY if slug == _FBCLID_SLUG else "")
            for slug in pages[number - 1]
        )
        main = f"""<h1>{label}</h1>
<section class="listing">
{teasers}
</section>
{self.pagination(key, number, len(pages))}"""
        path = f"/{key}/" if number == 1 else f"/{key}/?page={number}"
        return _html(self.page(title=f"{label} | {self.NAME}", path=path, og_type="website",
                               main=main, head=self.pagination_head(key, number, len(pages))))

    @staticmethod
    def page_href(key: str, number: int) -> str:
        return f"/{key}/" if number == 1 else f"/{key}/?page={number}"

    def pagination_head(self, key: str, number: int, total: int) -> str:
        links = []
        if number > 1:
            links.append(f'<link rel="prev" href="{self.dp}{self.page_href(key, number - 1)}">')
        if number < total:
            links.append(f'<link rel="next" href="{self.dp}{self.page_href(key, number + 1)}">')
        return "\n".join(links)

    def pagination(self, key: str, number: int, total: int) -> str:
        # relative "?page=N" hrefs on purpose: crawlers must resolve query-only references
        parts = ['<nav class="pagination" aria-label="Pages">']
        if number > 1:
            prev = self.page_href(key, number - 1) if number == 2 else f"?page={number - 1}"
            parts.append(f'<a rel="prev" class="prev" href="{prev}">Previous</a>')
        parts.append(f"<span>Page {number} of {total}</span>")
        if number < total:
            parts.append(f'<a rel="next" class="next" href="?page={number + 1}">Next</a>')
        parts.append("</nav>")
        return "\n".join(parts)

    def tag(self, tag: str) -> _Response:
        slugs = [slug for slug in _HOME_SLUGS if tag in self.stories[slug].tags]
        main = f"""<h1>Stories tagged “{_e(tag)}”</h1>
<section class="listing">
{chr(10).join(self.teaser(slug) for slug in slugs)}
</section>"""
        return _html(self.page(title=f"{tag} | {self.NAME}", path=f"/tag/{tag}/",
                               og_type="website", main=main))

    def about(self) -> _Response:
        paragraphs = "\n".join(f"<p>{_e(text)}</p>" for text in _ABOUT_DP)
        main = f"""<article class="page">
<h1>About the Daily Planet</h1>
{paragraphs}
<h2 id="staff">Our staff</h2>
<p>Reporters: Mara Ellison, Tobias Wren, Ines Okafor, Leopold Varga, Saanvi Dutt and
Harriet Quill.</p>
<h2 id="donate">Support us</h2>
<p>{_DONATE_TEXT}</p>
</article>"""
        return _html(self.page(title=f"About us | {self.NAME}", path="/about/",
                               og_type="website", main=main))

    # -- articles

    def article_head(self, story: _Story, modified: dt.datetime) -> str:
        label = _SECTIONS.get(story.section, ("News",))[0]
        amp = ""
        if story.slug == _AMP_SLUG:
            amp = f'<link rel="amphtml" href="{self.dp}/amp/{story.slug}.html">'
        robots = '<meta name="robots" content="noindex">' if story.section == "private" else ""
        return f"""<meta name="description" content="{_e(story.dek)}">
<meta name="author" content="{_e(story.author)}">
<meta property="og:title" content="{_e(story.title)}">
<meta property="article:published_time" content="{story.published}">
<meta property="article:modified_time" content="{_w3c(modified)}">
<meta property="article:section" content="{label}">
{amp}{robots}
{_jsonld(self.news_article(story, modified))}"""

    def news_article(self, story: _Story, modified: dt.datetime) -> dict[str, Any]:
        url = self.story_url(story.slug)
        return {
            "@context": "https://schema.org", "@type": "NewsArticle",
            "headline": story.title, "description": story.dek,
            "datePublished": story.published, "dateModified": _w3c(modified),
            "author": [{"@type": "Person", "name": story.author}],
            "publisher": {"@type": "Organization", "name": self.NAME},
            "mainEntityOfPage": {"@type": "WebPage", "@id": url},
            "articleSection": _SECTIONS.get(story.section, ("News",))[0],
            "keywords": list(story.tags), "inLanguage": "en",
        }

    def article(self, slug: str) -> _Response:
        story = self.stories[slug]
        paragraphs, modified = self.state.get(slug)
        main = f"""<article class="story">
{self.story_header(story)}
<div class="story-body">
{self.body_html(paragraphs, ad_after=1)}
</div>
<footer class="story-tags">Filed under: {self.tag_links(story)}</footer>
</article>
{self.story_asides(story)}
{self.comments()}"""
        text = self.page(title=f"{story.title} | {self.NAME}", path=story.path, og_type="article",
                         main=main, head=self.article_head(story, modified))
        return _html(text, last_modified=modified)

    def story_header(self, story: _Story) -> str:
        label = _SECTIONS.get(story.section, ("News",))[0]
        url = self.story_url(story.slug)
        return f"""<header class="story-header">
<p class="kicker"><a href="/{story.section}/">{label}</a></p>
<h1 class="headline">{_e(story.title)}</h1>
<p class="standfirst">{_e(story.dek)}</p>
<p class="byline">By <a rel="author" href="/about/#staff">{_e(story.author)}</a>
<span aria-hidden="true">·</span>
<time datetime="{story.published}">{_display_date(story.published)}</time></p>
<ul class="share">
<li><a href="https://social.example/share?url={quote(url, safe='')}">Share on Chirper</a></li>
<li><a href="mailto:?subject={quote(story.title)}&amp;body={quote(url, safe='')}">Email</a></li>
<li><a href="#comments">Comments ({len(_COMMENTS)})</a></li>
</ul>
</header>"""

    def tag_links(self, story: _Story) -> str:
        return ", ".join(f'<a rel="tag" href="/tag/{tag}/">{tag}</a>' for tag in story.tags)

    def story_asides(self, story: _Story) -> str:
        related = [slug for slug in _HOME_SLUGS if slug != story.slug][:3]
        items = "\n".join(
            f'<li><a href="{self.story_url(slug)}">{_e(self.stories[slug].title)}</a></li>'
            for slug in related
        )
        report = ""
        if story.slug == _PDF_SLUG:
            report = f'<p class="document"><a href="{_PDF_PATH}">Read the full report (PDF)</a></p>'
        return f"""<aside class="donate"><h2>Support independent journalism</h2>
<p>{_DONATE_TEXT}</p><a class="button" href="/about/#donate">Donate</a></aside>
<aside class="related"><h2>More from the Daily Planet</h2>
{report}
<ul>
{items}
</ul></aside>"""

    def comments(self) -> str:
        items = "\n".join(
            f'<div class="comment"><p class="comment-author">{name}</p><p>{_e(text)}</p></div>'
            for name, text in _COMMENTS
        )
        return f"""<section id="comments" class="comments">
<h2>Comments ({len(_COMMENTS)})</h2>
{items}
<form class="comment-form" method="post" action="/comments/"><textarea name="body"></textarea>
<button type="submit">Post comment</button></form>
</section>"""

    def amp(self, slug: str) -> _Response:
        story = self.stories[slug]
        paragraphs, modified = self.state.get(slug)
        url = self.story_url(slug)
        text = f"""<!doctype html>
<html ⚡ lang="en">
<head>
<meta charset="utf-8">
<title>{_e(story.title)}</title>
<link rel="canonical" href="{url}">
<meta name="viewport" content="width=device-width">
<meta property="og:type" content="article">
<script async src="https://cdn.ampproject.org/v0.js"></script>
<style amp-boilerplate>body{{visibility:hidden}}</style>
<noscript><style amp-boilerplate>body{{visibility:visible}}</style></noscript>
{_jsonld(self.news_article(story, modified))}
</head>
<body>
<header class="amp-header"><a href="/">{self.NAME}</a></header>
<article>
<h1>{_e(story.title)}</h1>
<p class="byline">By {_e(story.author)},
<time datetime="{story.published}">{_display_date(story.published)}</time></p>
{self.body_html(paragraphs)}
</article>
<footer><a href="{url}">View the full site</a></footer>
</body>
</html>
"""
        return _html(text, last_modified=modified)

    # -- machine-readable files

    def robots(self) -> _Response:
        text = f"""# {self.NAME}
User-agent: *
Disallow: /private/
Allow: /

Sitemap: {self.dp}/sitemap_index.xml
"""
        return _Response(200, "text/plain; charset=utf-8", text.encode(), _SITE_EPOCH)

    def feed(self) -> _Response:
        items = "\n".join(self.feed_item(slug) for slug in _FEED_SLUGS)
        updated = self.modified(_FEED_SLUGS)
        text = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
<title>{self.NAME}</title>
<link>{self.dp}/</link>
<description>News from the northern coast</description>
<language>en</language>
<lastBuildDate>{_http_date(updated)}</lastBuildDate>
<atom:link href="{self.dp}/feed.xml" rel="self" type="application/rss+xml"/>
{items}
</channel>
</rss>
"""
        return _xml(text, "application/rss+xml; charset=utf-8", updated)

    def feed_item(self, slug: str) -> str:
        story = self.stories[slug]
        url = self.story_url(slug)
        link = url + (_FEED_UTM_QUERY if slug == _FEED_UTM_SLUG else "")
        return f"""<item>
<title>{xml_escape(story.title)}</title>
<link>{xml_escape(link)}</link>
<guid isPermaLink="true">{xml_escape(url)}</guid>
<pubDate>{_http_date(_when(story.published))}</pubDate>
<dc:creator>{xml_escape(story.author)}</dc:creator>
<category>{xml_escape(story.section)}</category>
<description>{xml_escape(story.dek)}</description>
</item>"""

    def sitemap_index(self) -> _Response:
        updated = self.modified(_SITEMAP_SLUGS + _NEWS_SITEMAP_SLUGS)
        text = f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{self.dp}/sitemap-1.xml.gz</loc><lastmod>{_w3c(updated)}</lastmod></sitemap>
<sitemap><loc>{self.dp}/news-sitemap.xml</loc><lastmod>{_w3c(updated)}</lastmod></sitemap>
</sitemapindex>
"""
        return _xml(text, "application/xml; charset=utf-8", updated)

    def sitemap_xml(self) -> tuple[str, dt.datetime]:
        # listing pages belong in a real sitemap too; they must still get no record
        pages = [f"<url><loc>{self.dp}{path}</loc><changefreq>hourly</changefreq></url>"
                 for path in ("/", "/world/", "/science/", "/about/")]
        urls = [
            f"<url><loc>{xml_escape(self.story_url(slug))}</loc>"
            f"<lastmod>{_w3c(self.state.get(slug)[1])}</lastmod></url>"
            for slug in _SITEMAP_SLUGS
        ]
        text = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "\n".join(pages + urls) + "\n</urlset>\n"
        )
        return text, self.modified(_SITEMAP_SLUGS)

    def sitemap_gz(self) -> _Response:
        text, updated = self.sitemap_xml()
        # mtime=0 keeps the bytes, and so the ETag, stable while nothing changes
        body = gzip.compress(text.encode("utf-8"), mtime=0)
        return _Response(200, "application/x-gzip", body, updated)

    def news_sitemap(self) -> _Response:
        entries = "\n".join(self.news_entry(slug) for slug in _NEWS_SITEMAP_SLUGS)
        text = f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
{entries}
</urlset>
"""
        return _xml(text, "application/xml; charset=utf-8", self.modified(_NEWS_SITEMAP_SLUGS))

    def news_entry(self, slug: str) -> str:
        story = self.stories[slug]
        return f"""<url>
<loc>{xml_escape(self.story_url(slug))}</loc>
<news:news>
<news:publication><news:name>{self.NAME}</news:name><news:language>en</news:language></news:publication>
<news:publication_date>{story.published}</news:publication_date>
<news:title>{xml_escape(story.title)}</news:title>
</news:news>
</url>"""

    # -- errors and oddities

    def redirect(self, location: str) -> _Response:
        body = f'<html><body>Moved to <a href="{location}">{location}</a></body></html>'
        return _Response(301, "text/html; charset=utf-8", body.encode(),
                         headers=(("Location", location),))

    def broken(self) -> _Response:
        text = "<!DOCTYPE html><html><body><h1>Internal Server Error</h1></body></html>"
        return _html(text, status=500)

    def not_found(self) -> _Response:
        main = """<h1>Page not found</h1>
<p>The page you were looking for has moved or never existed.</p>
<p><a href="/">Back to the front page</a></p>"""
        text = self.page(title=f"Page not found | {self.NAME}", path=None, og_type="website",
                         main=main)
        return _html(text, status=404)


# --------------------------------------------------------------------------- partner


class _Partner(_Pages):
    """Renders the syndication partner on 127.0.0.2: different markup, an Atom feed."""

    NAME = "Partner Wire"

    def routes(self) -> dict[str, Handler]:
        table: dict[str, Handler] = {
            "/": _static(self.home),
            "/about/": _static(self.about),
            "/robots.txt": _static(self.robots),
            "/feed.xml": _static(self.feed),
        }
        for story in _PT_STORIES:
            table[story.path] = lambda query, slug=story.slug: self.article(slug)
        for story in _SYNDICATED:
            table[_syndicated_path(story)] = lambda query, story=story: self.copy(story)
        return table

    def page(self, *, title: str, path: str | None, og_type: str, main: str,
             head: str = "") -> str:
        canonical = ""
        if path is not None:
            canonical = f'<link rel="canonical" href="{self.pt}{path}">'
        return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>{_e(title)}</title>
<meta property="og:type" content="{og_type}">
<meta property="og:site_name" content="{self.NAME}">
{canonical}
<link rel="alternate" type="application/atom+xml" href="{self.pt}/feed.xml">
{head}
</head>
<body class="pw">
<div id="top-bar">{self.NAME} · Regional news from the valleys</div>
<div class="menu"><a href="/">Front page</a> | <a href="/about/">Who we are</a> |
<a href="{self.dp}/">Our partner: The Daily Planet</a></div>
<div class="container">
{main}
<div class="col-side"><h3>Most read on {self.NAME}</h3><ol>
{self.most_read()}
</ol></div>
</div>
<div id="footer">{self.NAME} is an independent cooperative newsroom.
<a href="/about/">Contact</a> · <a href="/feed.xml">Atom feed</a></div>
</body>
</html>
"""

    def most_read(self) -> str:
        return "\n".join(
            f'<li><a href="{story.path}">{_e(story.title)}</a></li>' for story in _PT_STORIES
        )

    def home(self) -> _Response:
        own = "\n".join(self.teaser(s.path, s) for s in _PT_STORIES)
        copies = "\n".join(self.teaser(_syndicated_path(s), s) for s in _SYNDICATED)
        main = f"""<div class="col-main">
<h2 class="block-title">Latest</h2>
{own}
<h2 class="block-title">From our partners</h2>
{copies}
</div>"""
        return _html(self.page(title=f"{self.NAME}: regional news", path="/", og_type="website",
                               main=main))

    def teaser(self, path: str, story: _Story) -> str:
        return (f'<div class="item"><a class="item-title" href="{path}">{_e(story.title)}</a>'
                f'<div class="item-summary">{_e(story.dek)}</div></div>')

    def about(self) -> _Response:
        paragraphs = "\n".join(f"<p>{_e(text)}</p>" for text in _ABOUT_PT)
        main = f'<div class="col-main"><h1>Who we are</h1>\n{paragraphs}\n</div>'
        return _html(self.page(title=f"Who we are | {self.NAME}", path="/about/",
                               og_type="website", main=main))

    def article(self, slug: str) -> _Response:
        story = self.stories[slug]
        paragraphs, modified = self.state.get(slug)
        return self.article_page(story, story.path, paragraphs, modified, credit_url="")

    def copy(self, story: _Story) -> _Response:
        # frozen snapshot: a partner's copy does not follow later edits of the original
        credit = self.story_url(story.slug)
        return self.article_page(story, _syndicated_path(story), story.paragraphs,
                                 _when(story.published), credit_url=credit)

    def article_page(self, story: _Story, path: str, paragraphs: tuple[str, ...],
                     modified: dt.datetime, credit_url: str) -> _Response:
        url = self.pt + path
        graph = {"@context": "https://schema.org", "@graph": [
            {"@type": "WebPage", "@id": url, "url": url, "name": story.title},
            {"@type": "NewsArticle", "headline": story.title, "isPartOf": {"@id": url},
             "datePublished": story.published, "dateModified": _w3c(modified),
             "author": {"@type": "Person", "name": story.author},
             "publisher": {"@type": "Organization", "name": self.NAME}},
        ]}
        head = f"""<meta name="author" content="{_e(story.author)}">
<meta property="og:title" content="{_e(story.title)}">
<meta property="og:url" content="{url}">
<meta property="article:published_time" content="{story.published}">
{_jsonld(graph)}"""
        main = f"""<div class="col-main">
<h1 class="entry-title">{_e(story.title)}</h1>
<div class="entry-meta">{_e(story.author)} —
<span class="date">{_display_date(story.published)}</span></div>
<div class="entry-content">
{self.body_html(paragraphs, credit_url=credit_url)}
</div>
<div class="newsletter-signup"><p>{_NEWSLETTER_TEXT}</p>
<form action="/newsletter/" method="post"><input name="email"><button>Sign up</button></form></div>
</div>"""
        text = self.page(title=f"{story.title} — {self.NAME}", path=path, og_type="article",
                         main=main, head=head)
        return _html(text, last_modified=modified)

    def robots(self) -> _Response:
        text = f"# {self.NAME} welcomes well-behaved crawlers.\nUser-agent: *\nDisallow:\n"
        return _Response(200, "text/plain; charset=utf-8", text.encode(), _SITE_EPOCH)

    def feed(self) -> _Response:
        entries = [self.entry(s.path, s, self.state.get(s.slug)[1]) for s in _PT_STORIES]
        entries += [self.entry(_syndicated_path(s), s, _when(s.published)) for s in _SYNDICATED]
        updated = max(self.modified(s.slug for s in _PT_STORIES),
                      *(_when(s.published) for s in _SYNDICATED))
        text = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>{self.NAME}</title>
<link href="{self.pt}/" rel="alternate"/>
<link href="{self.pt}/feed.xml" rel="self"/>
<id>{self.pt}/</id>
<updated>{_w3c(updated)}</updated>
{chr(10).join(entries)}
</feed>
"""
        return _xml(text, "application/atom+xml; charset=utf-8", updated)

    def entry(self, path: str, story: _Story, modified: dt.datetime) -> str:
        url = xml_escape(self.pt + path)
        return f"""<entry>
<title>{xml_escape(story.title)}</title>
<link href="{url}" rel="alternate"/>
<id>{url}</id>
<published>{story.published}</published>
<updated>{_w3c(modified)}</updated>
<author><name>{xml_escape(story.author)}</name></author>
<summary>{xml_escape(story.dek)}</summary>
</entry>"""

    def not_found(self) -> _Response:
        main = '<div class="col-main"><h1>Not found</h1><p>Nothing lives here.</p></div>'
        return _html(self.page(title=f"Not found | {self.NAME}", path=None, og_type="website",
                               main=main), status=404)


# --------------------------------------------------------------------------- HTTP server


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = [c.strip().removeprefix("W/") for c in header.split(",")]
    return "*" in candidates or etag in candidates


class _Server(ThreadingHTTPServer):
    """One site's listener; it remembers its open connections so stop() can cut keep-alives."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], web: FixtureWeb, site: str) -> None:
        self.web = web
        self.site = site
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def close_connections(self) -> None:
        with self._open_lock:
            for connection in list(self._open):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already gone


def _encoded(response: _Response, site: str, accept_encoding: str) -> _Response:
    """The partner sends its HTML gzip-encoded to clients that accept it, as most news sites
    do; dailyplanet sends it plain. The crawl must archive and read both."""
    if (site != PARTNER or "gzip" not in accept_encoding.lower()
            or not response.content_type.startswith("text/html")):
        return response
    return _Response(response.status, response.content_type,
                     gzip.compress(response.body, mtime=0), response.last_modified,
                     (*response.headers, ("Content-Encoding", "gzip"),
                      ("Vary", "Accept-Encoding")))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the servers a crawler really meets
    server_version = "fixtureweb/1.0"
    timeout = 10  # idle keep-alive connections must not pin threads forever
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (name fixed by http.server)
        self._serve(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # the request log replaces stderr noise

    def _serve(self, send_body: bool) -> None:
        web = self.server.web
        web._record(self.server.server_address[0], self.command, self.path,
                    dict(self.headers.items()))
        response = _encoded(web._respond(self.server.site, self.path), self.server.site,
                            self.headers.get("Accept-Encoding") or "")
        etag = _etag(response.body) if response.status == 200 else None
        if etag and _etag_matches(self.headers.get("If-None-Match"), etag):
            self._send_head(304, response, etag, length=None)
            return
        self._send_head(response.status, response, etag, length=len(response.body))
        if send_body:
            self.wfile.write(response.body)

    def _send_head(self, status: int, response: _Response, etag: str | None,
                   length: int | None) -> None:
        self.send_response(status)
        if status != 304:
            self.send_header("Content-Type", response.content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        if etag:
            self.send_header("ETag", etag)
        if response.last_modified is not None:
            self.send_header("Last-Modified", _http_date(response.last_modified))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()


# --------------------------------------------------------------------------- public API


class FixtureWeb:
    """Both fixture sites on one free port: ``with FixtureWeb() as web: ...`` or start()/stop()."""

    def __init__(self) -> None:
        self._state = _State((*_DP_STORIES, _PRIVATE_STORY, *_PT_STORIES))
        self._log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self._routes: dict[str, dict[str, Handler]] = {}
        self._pages: dict[str, _DailyPlanet | _Partner] = {}
        self._port: int | None = None

    # -- lifecycle

    def start(self, attempts: int = 50) -> FixtureWeb:
        if self._port is not None:
            raise RuntimeError("FixtureWeb already started")
        self._servers = self._bind_pair(attempts)
        self._port = self._servers[0].server_address[1]
        dp, pt = self.base_url(0), self.base_url(1)
        self._pages = {DAILYPLANET: _DailyPlanet(dp, pt, self._state),
                       PARTNER: _Partner(dp, pt, self._state)}
        self._routes = {site: pages.routes() for site, pages in self._pages.items()}
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"fixtureweb-{server.site}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _bind_pair(self, attempts: int) -> list[_Server]:
        # the OS picks P on 127.0.0.1; 127.0.0.2:P may be taken by someone else, so retry
        for _ in range(attempts):
            first = _Server((HOSTS[0], 0), self, DAILYPLANET)
            try:
                second = _Server((HOSTS[1], first.server_address[1]), self, PARTNER)
            except OSError:
                first.server_close()
                continue
            return [first, second]
        raise RuntimeError(f"no port free on both {HOSTS} after {attempts} attempts")

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
            server.close_connections()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads, self._port = [], [], None

    def __enter__(self) -> FixtureWeb:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FixtureWeb is not started")
        return self._port

    def base_url(self, host_index: int) -> str:
        """``http://127.0.0.1:P`` for 0 (dailyplanet), ``http://127.0.0.2:P`` for 1 (partner)."""
        return f"http://{HOSTS[host_index]}:{self.port}"

    def url(self, site: str | int, path: str) -> str:
        return self.base_url(_host_index(site)) + path

    @property
    def sites(self) -> tuple[FixtureSite, ...]:
        dp, pt = self.base_url(0), self.base_url(1)
        return (
            FixtureSite(DAILYPLANET, dp, (f"{dp}/", f"{dp}/world/", f"{dp}/science/"),
                        (f"{dp}/feed.xml",), (f"{dp}/sitemap_index.xml",)),
            FixtureSite(PARTNER, pt, (f"{pt}/",), (f"{pt}/feed.xml",), ()),
        )

    def site(self, name: str) -> FixtureSite:
        return next(s for s in self.sites if s.name == name)

    # -- the data model

    @property
    def articles(self) -> list[FixtureArticle]:
        """Every article that must end up with exactly one record, as currently served."""
        return [self._article(story) for story in (*_DP_STORIES, *_PT_STORIES)]

    def article(self, slug: str) -> FixtureArticle:
        return self._article(self._story(slug))

    def update_article(self, slug: str, paragraphs: Iterable[str]) -> FixtureArticle:
        """Replace an article's body; served from the next request on, with a newer
        Last-Modified (and so a new ETag, sitemap lastmod and feed date)."""
        body = tuple(paragraphs)
        if not body or not all(isinstance(p, str) and p.strip() for p in body):
            raise ValueError("paragraphs must be non-empty strings")
        self._story(slug)  # only real articles can change
        self._state.update(slug, body)
        return self.article(slug)

    @property
    def syndicated(self) -> list[FixtureArticle]:
        """The partner's near-identical copies (not in ``articles``)."""
        pt = self.base_url(1)
        return [
            FixtureArticle(PARTNER, s.slug, pt + _syndicated_path(s), pt + _syndicated_path(s),
                           s.title, s.author, s.published, s.paragraphs)
            for s in _SYNDICATED
        ]

    @property
    def near_copies(self) -> list[tuple[str, str]]:
        """(partner copy URL, original dailyplanet article URL) pairs."""
        return [(copy.url, self.article(copy.slug).url) for copy in self.syndicated]

    @property
    def non_articles(self) -> list[str]:
        dp, pt = self.base_url(0), self.base_url(1)
        sections = [dp + _DailyPlanet.page_href(key, number)
                    for key, (_, pages) in _SECTIONS.items()
                    for number in range(1, len(pages) + 1)]
        tags = [f"{dp}/tag/{tag}/" for tag in _dp_tags()]
        return [f"{dp}/", *sections, *tags, f"{dp}/about/", f"{pt}/", f"{pt}/about/"]

    @property
    def disallowed_urls(self) -> list[str]:
        return [self.base_url(0) + _PRIVATE_STORY.path]

    @property
    def feed_only(self) -> FixtureArticle:
        """Linked from no page and no sitemap: only dailyplanet's RSS feed lists it."""
        return self.article(_FEED_ONLY)

    @property
    def sitemap_only(self) -> FixtureArticle:
        """Listed only in the gzip urlset behind the sitemap index."""
        return self.article(_SITEMAP_ONLY)

    @property
    def deep_only(self) -> list[FixtureArticle]:
        """Linked only from section pages 2+ (not home, feed, sitemaps, tags or related)."""
        return [self.article(slug) for slug in _DEEP_ONLY]

    @property
    def variants(self) -> list[tuple[str, str]]:
        """(URL as linked somewhere, the article URL it stands for): tracking parameters,
        fragments, the AMP copy and the 301."""
        dp = self.base_url(0)
        url = self._pages[DAILYPLANET].story_url
        return [
            (url(_UTM_SLUG) + _UTM_QUERY, url(_UTM_SLUG)),
            (url(_FBCLID_SLUG) + _FBCLID_QUERY, url(_FBCLID_SLUG)),
            (url(_FEED_UTM_SLUG) + _FEED_UTM_QUERY, url(_FEED_UTM_SLUG)),
            (url(_COMMENTS_SLUG) + "#comments", url(_COMMENTS_SLUG)),
            (f"{dp}/amp/{_AMP_SLUG}.html", url(_AMP_SLUG)),
            (dp + _OLD_PATH, url(_OLD_TARGET)),
        ]

    @property
    def special_urls(self) -> dict[str, str]:
        dp = self.base_url(0)
        return {
            "redirect": dp + _OLD_PATH,
            "redirect_target": self._pages[DAILYPLANET].story_url(_OLD_TARGET),
            "not_found": dp + _MISSING_PATH,
            "server_error": f"{dp}/broken/",
            "pdf": dp + _PDF_PATH,
            "pdf_linked_from": self._pages[DAILYPLANET].story_url(_PDF_SLUG),
            "amp": f"{dp}/amp/{_AMP_SLUG}.html",
        }

    @property
    def boilerplate_phrases(self) -> tuple[str, ...]:
        """Chrome text (cookie banner, donation box, comments, newsletter, share and related
        headings) that must never appear in an article record's text."""
        return BOILERPLATE_PHRASES

    def _story(self, slug: str) -> _Story:
        for story in (*_DP_STORIES, *_PT_STORIES):
            if story.slug == slug:
                return story
        raise KeyError(f"no fixture article {slug!r}")

    def _article(self, story: _Story) -> FixtureArticle:
        paragraphs, _ = self._state.get(story.slug)
        url = self.url(story.site, story.path)
        return FixtureArticle(story.site, story.slug, url, url, story.title, story.author,
                              story.published, paragraphs)

    # -- request log

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._log_lock:
            return list(self._log)

    def fetched_paths(self, host: str | int) -> list[str]:
        """Paths (with query) requested from one host, given as index, IP or site name."""
        ip = HOSTS[_host_index(host)]
        return [entry.path for entry in self.requests if entry.host == ip]

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    def _record(self, host: str, method: str, path: str, headers: dict[str, str]) -> None:
        with self._log_lock:
            self._log.append(LoggedRequest(host, method, path, headers))

    def _respond(self, site: str, raw_path: str) -> _Response:
        parts = urlsplit(raw_path)
        handler = self._routes[site].get(parts.path)
        if handler is None:
            return self._pages[site].not_found()
        return handler(parse_qs(parts.query))


def _host_index(host: str | int) -> int:
    if isinstance(host, int):
        return host
    if host in SITE_NAMES:
        return SITE_NAMES.index(host)
    if host in HOSTS:
        return HOSTS.index(host)
    raise KeyError(f"unknown fixture host {host!r}")
