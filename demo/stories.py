"""Fictional content of the demo news sites, kept apart from the HTML so tests can check both.

Every town, person, business and event here is invented. Bodies are written as plain text, one
blank line between paragraphs, so the prose stays readable and within the line-length limit.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Story:
    """One article of a demo site; `paragraphs` is the exact body a good extractor should return."""

    slug: str
    section: str
    headline: str
    author: str
    published: str  # ISO 8601 with UTC offset
    paragraphs: tuple[str, ...]
    standfirst: str | None = None
    tags: tuple[str, ...] = ()
    syndicated_from: str | None = None  # site key of the original, for syndicated copies

    @property
    def published_at(self) -> datetime:
        return datetime.fromisoformat(self.published)

    @property
    def path(self) -> str:
        """Dated slug path, in the publication's local date like most news CMSs."""
        day = self.published_at
        return f"/{self.section}/{day:%Y/%m/%d}/{self.slug}/"

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def _paras(body: str) -> tuple[str, ...]:
    blocks = [block for block in body.strip().split("\n\n") if block.strip()]
    return tuple(" ".join(line.strip() for line in block.splitlines()) for block in blocks)


def _story(slug: str, section: str, headline: str, author: str, published: str, body: str,
           standfirst: str | None = None, tags: tuple[str, ...] = ()) -> Story:
    return Story(slug=slug, section=section, headline=headline, author=author,
                 published=published, paragraphs=_paras(body), standfirst=standfirst, tags=tags)


PUBLICATIONS: dict[str, str] = {
    "harbourtown": "The Harbourtown Ledger",
    "valleycourier": "The Valley Courier",
}

# Navigation order of each site's sections.
SECTIONS: dict[str, tuple[str, ...]] = {
    "harbourtown": ("news", "business", "culture"),
    "valleycourier": ("news", "sport"),
}

_HARBOUR_WALL = _story(
    "harbour-wall-repairs-delayed", "news",
    "Harbour wall repairs delayed until autumn after divers find deeper damage",
    "Bethan Carrow", "2026-03-14T08:05:00+00:00", """
    Repairs to Harbourtown’s north breakwater will not be finished before the autumn after divers
    found that winter storms had scoured away far more of its foundations than first thought. The
    work had been due to finish in May.

    The council had hoped to reopen the full length of the wall to walkers by Easter. Instead, the
    inner section will stay fenced off through the summer while contractors pump concrete into
    cavities beneath the old granite blocks.

    Harbour master Tomas Venn said the survey in February showed voids up to two metres deep at
    the seaward end. “You cannot see any of it from the top,” he said. “The stonework looks fine,
    but underneath it is like a honeycomb.”

    The original budget of £780,000 has now risen to an estimated £1.6 million. Councillor Ruth
    Aldane, who chairs the coastal committee, said the authority would apply to the regional
    resilience fund to cover most of the gap. She warned that smaller projects on the seafront
    might have to wait another year if the bid failed.

    Fishing crews who moor behind the breakwater have been told their berths are safe for now.
    Several skippers said they were more worried about the cost of moving boats if a big swell
    arrived before the work was done.

    The wall was built in 1874 and last strengthened after the floods of 1953. Engineers believe
    rising sea levels and longer storm seasons mean it now takes a heavier battering than at any
    point in its history.

    A public drop-in session on the revised plans will be held at the harbour office next Thursday
    between four and seven in the evening. Residents can also view the survey drawings at the
    town hall.
    """,
    standfirst="Engineers say storm scouring has undermined the foundations of the north "
    "breakwater, doubling the cost of the work",
    tags=("harbour", "council"),
)

_FERRY = _story(
    "saltmere-ferry-summer-timetable", "news",
    "Saltmere ferry to run until ten at night under new summer timetable",
    "Owen Strake", "2026-03-20T11:30:00+00:00", """
    The ferry between Harbourtown and Saltmere will run until ten o’clock at night from the start
    of June, its operator has confirmed. The last crossing currently leaves at half past seven.

    Estuary Link said the change followed a survey of more than 1,200 passengers last autumn.
    Almost half said the early finish stopped them using the ferry to get home from evening shifts
    or nights out. The company carried just over 410,000 passengers last year, its highest total
    for a decade.

    To pay for the extra crew hours, the first sailing from Saltmere will move from 6.10 to 6.30 in
    the morning. The company said only a handful of passengers regularly used the earliest boat
    and most of them could switch to the 6.50 departure.

    Leona Brisk, who runs a café on the Saltmere quay, said the later sailings could transform
    trade on summer evenings. “People come across for the day and then rush off at seven,” she
    said. “Now they might actually stay for dinner.”

    Not everyone is pleased. Shift workers at the Saltmere boatyard say the later start will leave
    them arriving at the gates just as their shifts begin, with no margin if the boat is held up
    by fog.

    Fares will not change this year. A single adult crossing will stay at £3.40, and the monthly
    commuter pass at £58.

    The winter timetable will return at the end of September, when the operator will review
    passenger numbers on the late sailings. Managing director Calum Reddaway said the company would
    keep the later boats “if people use them”.
    """,
    standfirst="Commuters and hospitality staff welcome the later sailings, but the first boat of "
    "the day will leave twenty minutes later",
    tags=("transport",),
)

_HARBOURTOWN_OWN = [
    _HARBOUR_WALL,
    _FERRY,
    _story(
        "gullhaven-pupils-temporary-classrooms", "news",
        "Gullhaven pupils move into temporary classrooms after roof survey",
        "Priya Lannoch", "2026-02-27T16:45:00+00:00", """
        Around ninety pupils at Gullhaven Primary School will be taught in temporary cabins for
        the rest of the school year after a survey found problems with the roof over the older
        wing. Parents were told in a letter sent home on Friday afternoon.

        The survey was ordered after a ceiling tile fell into an empty classroom during half-term.
        Inspectors found that several timber beams had been weakened by a slow leak that had gone
        unnoticed for years.

        Headteacher Angharad Fell said no child had ever been at risk. “We closed the rooms the
        moment we had any doubt,” she said. “The cabins are warm, bright and a lot better than
        some people imagine.”

        Four cabins are being craned onto the school field this weekend. Years three to five will
        move into them on Monday, and the playground will be split in two while the work goes on.

        The school says lessons will continue as normal and after-school clubs will carry on in the
        hall, which is in the newer part of the building. Lunches will be served in two sittings
        until the work is finished. Staff have been moving books, displays and furniture into the
        cabins all week.

        Some parents have questioned why the leak was not found sooner. Daniel Oakes, whose two
        children attend the school, said families deserved to know when the roof was last
        inspected and what the inspectors found.

        The county education department said the building had been checked in 2023 and no defects
        were reported. It has promised a full review of maintenance records at all schools built
        before 1970.

        Repairs are expected to take place over the summer holidays. The department estimates the
        cost at around £420,000.
        """,
        standfirst="Parents were told on Friday that three classrooms at the village primary "
        "school are unsafe to use",
        tags=("education",),
    ),
    _story(
        "lifeboat-rescues-kayakers-kestle-bay", "news",
        "Lifeboat crew rescues two kayakers swept out of Kestle Bay",
        "Owen Strake", "2026-04-03T09:20:00+01:00", """
        Two kayakers were rescued by Harbourtown’s volunteer lifeboat crew on Thursday evening
        after a strong offshore wind carried them almost a mile out of Kestle Bay. Both were
        treated for cold exposure and later released from hospital.

        The pair, a man and a woman in their twenties who were visiting the area, had set off
        from the beach shortly after five o’clock. Their double kayak capsized when the wind
        picked up near the mouth of the bay.

        A walker on the coast path spotted an orange shape in the water and called the coastguard
        at about twenty past six. The inshore lifeboat launched eleven minutes later and reached
        the kayakers just before seven. Coastguard rescue officers went to the clifftop to guide
        the crew in.

        Helm Carys Pendine said the pair had done the right thing by staying with their boat.
        “They were tired and very cold, but they kept hold of the kayak and that made them much
        easier to find,” she said.

        The crew brought both casualties back to the lifeboat station, where paramedics were
        waiting. The kayak was recovered from the rocks below Gullhaven Point the following
        morning.

        Coastguard officers are reminding visitors to check the forecast and tide times before
        going afloat. They also urged anyone paddling to carry a phone in a waterproof pouch, as
        the kayakers had no way of calling for help.

        Both kayakers later thanked the crew in a message posted by the station. They said they had
        underestimated how quickly the conditions could change once they were away from the
        shelter of the cliffs.

        It was the station’s ninth callout of the year. Last year the crew launched forty-one
        times, the busiest year in its history.
        """,
        standfirst="The pair spent more than an hour clinging to an upturned boat before a walker "
        "raised the alarm",
        tags=("harbour",),
    ),
    _story(
        "council-freezes-seafront-parking-charges", "news",
        "Council freezes seafront parking charges after traders’ campaign",
        "Bethan Carrow", "2026-03-05T19:10:00+00:00", """
        Parking charges on Harbourtown seafront will stay at last year’s level after councillors
        voted against a proposed rise on Wednesday night. The decision follows a three-month
        campaign by shop and café owners on the Esplanade.

        Officers had recommended increasing the hourly rate from £1.80 to £2.20 to help close a
        gap in the highways budget. They estimated the rise would have brought in an extra
        £95,000 a year.

        Traders argued that higher charges would push visitors towards the out-of-town retail
        park, where parking is free. A petition against the increase collected more than 3,000
        signatures in six weeks.

        Councillor Hamish Drury, who proposed the freeze, said the town could not afford to lose
        more footfall. “Every empty shop on the front costs us more in the long run than we would
        ever raise from a few extra pence an hour,” he said.

        Caroline Ashdown, who runs a gift shop near the pier, said the result showed the council
        was finally listening. “We were told the rise was a done deal,” she said. “It turns out it
        was not.”

        The vote was carried by nineteen votes to fourteen. Opponents warned that the shortfall
        would now have to be found elsewhere, possibly from pothole repairs or street cleaning.
        Two councillors abstained.

        Blue badge holders will continue to park free of charge for up to three hours. Residents’
        permits, which are priced separately, will rise by five pounds a year as planned.

        The finance team will bring revised budget options to the next full council meeting in
        April. The freeze will be reviewed again in twelve months.
        """,
        tags=("council", "transport"),
    ),
    _story(
        "fish-market-opens-second-processing-line", "business",
        "Fish market co-operative opens second processing line",
        "Marcus Ebdon", "2026-03-10T07:00:00+00:00", """
        The co-operative that runs Harbourtown fish market has opened a second processing line,
        creating eighteen jobs and doubling the amount of fish it can prepare on the quay. The new
        line began operating on Monday after a year and a half of planning.

        Until now, much of the catch landed in Harbourtown was driven more than a hundred miles
        inland to be filleted and packed. Skippers say that added cost and meant fish often
        reached restaurants a day later than it could have done.

        The £2.3 million project was paid for with a mix of member contributions, a bank loan and
        a grant from the coastal communities fund. The co-operative has forty-two member boats,
        most of them small inshore vessels.

        Chair Denise Harrow said the aim was to keep more of the value of the catch in the town.
        “We land some of the best fish in the country and for years we have been sending it away
        to be worked on by somebody else,” she said. “That ends now.”

        The new line will mainly handle hake, monkfish and gurnard. Some of the output will be
        sold through the market’s own shop, which will extend its opening hours from May.

        Restaurants in the town have already signed up to take regular orders. Chef Teodor Lusk,
        who runs a seafood bar on the Esplanade, said he could now buy fish landed that morning
        and have it on the menu by lunchtime. “You cannot beat that for freshness,” he said.

        Eight of the new roles have gone to school leavers, who will train as fish cutters over
        the next year. The co-operative hopes to add a smokehouse if trade grows as expected.
        """,
        standfirst="The expansion at the quay will create eighteen jobs and let local boats sell "
        "more of their catch in town",
        tags=("harbour",),
    ),
    _story(
        "pellows-bakery-thirty-jobs-tannery", "business",
        "Family bakery to create thirty jobs at former tannery site",
        "Marcus Ebdon", "2026-02-18T10:15:00+00:00", """
        Pellow’s Bakery, which has supplied bread to Harbourtown shops for more than sixty years,
        is to move into the former tannery on Mill Lane and take on thirty new staff. Planning
        permission for the conversion was granted this week.

        The business currently operates from a small unit behind Fore Street, where its ovens run
        through the night to keep up with orders. Owner Gwen Pellow said the family had turned
        away wholesale contracts because there was simply no room to grow.

        The tannery building has stood empty since 2011. Its new owners will keep the brick
        frontage and the old chimney, while the inside is stripped back and fitted with three
        large deck ovens and a packing hall.

        Most of the new jobs will be in production and delivery, with a handful in the office.
        The bakery also plans to open a small shop and café at the front of the site.

        The bakery still makes its best-known loaf, a dark malted bread, to a recipe written down
        by Gwen Pellow’s grandfather in the 1950s. She said the family would not change it just
        because the ovens were getting bigger. “The recipe stays in the drawer where it has always
        been,” she said.

        Local enterprise officer Simon Threlfall said the move was a boost for the east side of
        town, where several employers have closed in recent years. “This is exactly the kind of
        home-grown firm we want to keep here,” he said.

        Work on the conversion is due to start in April. The Pellow family expects to bake its
        first loaves at Mill Lane before Christmas.
        """,
        standfirst="The business will leave its cramped back-street unit for a refurbished "
        "industrial building on Mill Lane",
    ),
    _story(
        "empty-shop-units-fall", "business",
        "Empty shop units in Harbourtown fall for the first time in five years",
        "Priya Lannoch", "2026-04-01T08:40:00+01:00", """
        The number of empty shops in Harbourtown town centre has fallen for the first time in five
        years, according to a survey by the local chamber of trade. Volunteers counted thirty-one
        vacant units in March, compared with thirty-eight at the same point last year.

        Most of the new arrivals are small independent businesses, including a bike repair
        workshop, a children’s bookshop and two cafés. Several have taken short leases under a
        scheme that lets landlords offer six months rent-free to new tenants.

        Chamber president Ellis Marrow said the figures were encouraging but should be treated
        with caution. “Seven units is real progress, but we are still well above where we were
        ten years ago,” he said.

        The survey found vacancies remain concentrated at the top of Fore Street, away from the
        harbour. Traders there say the area lost passing trade when the bus station moved to the
        edge of town. One said the last bus of the day now stops nowhere near the shops.

        Bookshop owner Tamsin Kell opened on Quay Street in January after running a market stall
        for three years. She said the rent-free months gave her the confidence to sign a lease.
        “I would never have taken the risk without that breathing space,” she said.

        The council plans to spend part of its regeneration budget on new planting, seating and
        signs at the top of the street this summer. It is also talking to landlords about letting
        empty units to pop-up shops in the run-up to Christmas.

        The chamber will repeat its survey in September. Its members hope the improvement will
        continue once the summer visitors arrive.
        """,
        standfirst="A survey of the town centre found thirty-one vacant units, down from "
        "thirty-eight a year ago",
        tags=("council",),
    ),
    _story(
        "lighthouse-festival-biggest-programme", "culture",
        "Lighthouse festival announces its biggest programme yet",
        "Isla Merrin", "2026-03-25T12:00:00+00:00", """
        The Harbourtown Lighthouse Festival will run for ten days this summer, its longest ever,
        with more than sixty events across the town. The full programme was unveiled at the
        Assembly Rooms on Tuesday evening.

        Organisers have added a second outdoor stage on the old coal quay, which will host free
        folk and brass performances every afternoon. The main ticketed concerts will return to the
        lawn beneath the lighthouse.

        Festival director Noor Castellan said the aim was to bring in visitors without pricing out
        residents. Around half of the events are free, and people with a town postcode can buy
        tickets for the main concerts at a reduced rate.

        This year’s theme is “Light and Water”. A touring theatre company will stage a new play
        about the keepers who lived in the lighthouse until it was automated in 1989, using
        letters and logbooks held by the town museum.

        The festival will also include a lantern parade through the old town on the final night.
        Schools and community groups have been invited to make lanterns at free workshops in June.

        Headline acts include the folk trio Ember Shore and the Saltmere Silver Band, which is
        celebrating its centenary. A programme of talks at the Assembly Rooms will cover subjects
        from seabirds to shipbuilding.

        Local businesses will again sponsor the free stage, while volunteers will staff information
        points around the town. Organisers are still looking for around forty stewards and are
        asking anyone interested to get in touch through the festival office.

        Tickets go on sale on the first of May. Last year’s festival attracted an estimated 24,000
        visitors over its eight days.
        """,
        standfirst="More than sixty events will take place over ten days in July, with a new "
        "stage on the old coal quay",
        tags=("festival",),
    ),
    _story(
        "museum-figurehead-display", "culture",
        "Museum puts recovered ship’s figurehead on public display",
        "Isla Merrin", "2026-02-09T14:25:00+00:00", """
        A carved wooden figurehead from a cargo ship that sank off Gullhaven Point in 1867 has
        gone on display at Harbourtown Museum after two years of painstaking conservation. The
        figure, a woman holding a sheaf of wheat, was recovered by divers in 2023.

        The ship, the Alder Grace, was carrying grain from the Baltic when she struck rocks in a
        winter gale. Eleven of her fourteen crew were saved by fishermen who rowed out from the
        point.

        Conservator Hollis Wray said the figurehead had been badly damaged by marine worms and
        more than a century in the silt. “When it came out of the water it was about as soft as
        wet cardboard,” she said. “We had to dry it very slowly over many months so it did not
        crack.”

        Traces of the original paint were found under the surface, allowing the team to work out
        that the figure’s dress was once bright blue. The museum has decided not to repaint it,
        but a digital reconstruction is shown on a screen next to the case.

        Descendants of two of the rescuers attended a private viewing on Saturday. One of them,
        retired teacher Marian Coyle, said seeing the figure brought an old family story to life.

        The gallery will also display a ship’s bell, navigation instruments and letters written by
        the captain’s wife, who waited in Harbourtown for news after the wreck. Most of the objects
        were donated by local families over the past century.

        The figurehead will be the centrepiece of a new maritime gallery, which opens to the
        public this weekend. Entry to the museum is free.
        """,
        standfirst="The carved figure from the wreck of the Alder Grace has been restored after "
        "two years of conservation work",
        tags=("heritage", "harbour"),
    ),
]

_VALLEY_OWN = [
    _story(
        "wendle-flood-barrier-first-test", "news",
        "Flood barrier on the Wendle passes its first real test",
        "Rhys Callender", "2026-02-24T18:05:00+00:00", """
        The new flood barrier at Brindlecombe held back the River Wendle on Monday night as water
        levels rose to their highest point in six years. Residents who were flooded in 2020 said
        it was the first big storm in a long time they had slept through.

        The river peaked at 3.9 metres on the town gauge shortly after midnight, just over a
        metre below the top of the barrier. In 2020 a lower peak was enough to send water into
        more than sixty homes on Mill Row and Weir Street.

        The £6.4 million scheme was finished last October after two years of construction. It
        includes a raised embankment, a set of floodgates across the old mill leat and a pumping
        station to clear surface water. Around 240 homes and businesses are now protected to a
        higher standard.

        Environment officer Fiona Quarrie said the defences performed exactly as designed. “It is
        very satisfying to watch the levels climb and know that the gates are doing their job,”
        she said.

        Not all parts of the valley were as fortunate. Several roads around Upper Marrow were
        closed by flooding, and a farm near Ashby Vale lost sheep when a field was cut off by
        rising water.

        River levels fell steadily through Tuesday, and the floodgates were reopened in the
        afternoon. Officers will now inspect the embankment for any damage caused by debris
        carried down by the river.

        Volunteers from the Brindlecombe flood group spent the night checking on elderly
        neighbours. Group coordinator Peter Haile said they would keep their sandbag store
        stocked despite the new barrier, because the river would always find a way in somewhere.
        """,
        standfirst="River levels at Brindlecombe reached their highest point in six years, but "
        "no homes were flooded",
        tags=("flooding",),
    ),
    _story(
        "number-42-bus-reprieve", "news",
        "Villagers win a reprieve for the number 42 bus",
        "Hannah Treloar", "2026-03-18T13:50:00+00:00", """
        The number 42 bus, which links four hill villages to Ashby Vale, will keep running for at
        least another year after the county agreed to continue its subsidy. The route had been
        due to stop at the end of April.

        The service carries around 140 passengers a week, many of them older residents without
        cars. It runs four times a day on weekdays and twice on Saturdays. Fares are capped at two
        pounds for a single journey.

        Campaigners gathered more than 900 signatures and packed a county transport meeting last
        month. Several told councillors they would be unable to reach the doctor’s surgery, the
        bank or the weekly market without it.

        Retired postman Alan Frew, who uses the bus three times a week, said he was relieved.
        “For some people up here this bus is the only way they see anybody,” he said.

        Drivers on the route say they know most of their regular passengers by name. One said he
        often waits an extra minute at the bottom of Coldharbour Lane for a woman in her nineties
        who walks down from her farm. “You do not get that on a city bus,” he said.

        The county said the decision was possible because of extra rural transport funding
        announced in January. It warned that the route would be reviewed again next spring and
        that passenger numbers needed to rise.

        The parish councils along the route plan to promote the service in their parish
        magazines and on village notice boards. One has suggested a timetable change so the bus
        arrives in Ashby Vale in time for the market opening.
        """,
        standfirst="The only service linking four hill villages with the market town will run "
        "for at least another year",
        tags=("transport",),
    ),
    _story(
        "hollin-edge-quarry-objections", "news",
        "Quarry expansion plan draws record number of objections",
        "Rhys Callender", "2026-04-06T17:30:00+01:00", """
        A proposal to extend Hollin Edge quarry has drawn more than 1,400 objections, the largest
        number ever received for a single planning application in the valley. The consultation
        closed on Friday.

        Operator Vale Aggregates wants to expand the quarry by around twenty hectares, which it
        says would secure stone supplies for another twenty-five years. The company employs
        forty-six people at the site.

        Objectors say the extension would bring blasting closer to homes in Upper Marrow and add
        dozens of lorry movements a day on narrow lanes. Many also raised concerns about the loss
        of an ancient hedgerow and a stretch of the popular Hollin Way footpath.

        Judith Ormsby, who lives around four hundred metres from the proposed boundary, said the
        windows in her cottage already rattle when the quarry blasts. “If they come any closer I
        do not know what will be left standing,” she said.

        The company says it will plant new woodland, divert the footpath and limit blasting to
        set hours on weekdays. Site manager Greg Tolland said the quarry had supported the valley
        economy for more than a century and wanted to do so for decades to come.

        Upper Marrow parish council has formally objected and is paying for its own noise survey.
        Its chair, Eleanor Pascoe, said residents were not opposed to quarrying but wanted a fair
        hearing. “We have lived alongside the quarry for generations and we know what it means,”
        she said.

        The application is expected to go before the county planning committee in the summer.
        Councillors will visit the site beforehand. A decision is unlikely before September.
        """,
        standfirst="More than 1,400 people have written to the county about proposals to extend "
        "Hollin Edge quarry",
        tags=("planning",),
    ),
    _story(
        "ashby-vale-cricket-pavilion-reopens", "sport",
        "Ashby Vale cricket club reopens its pavilion two years after fire",
        "Sam Kellow", "2026-04-11T15:00:00+01:00", """
        Ashby Vale Cricket Club has reopened its pavilion, two years after the old wooden building
        was destroyed by fire. Around two hundred people turned out on Saturday to watch the
        club’s oldest member cut the ribbon.

        The fire broke out late at night in August 2024 and was thought to have been caused by an
        electrical fault in the kitchen. Decades of scorebooks, team photographs and honours
        boards were lost. Nobody was in the building at the time.

        The new pavilion has changing rooms for both men’s and women’s teams, a kitchen and a
        veranda overlooking the square. It cost around £310,000, of which more than half was
        raised by the club through quiz nights, sponsored walks and a charity match against a
        county veterans side.

        Club president Norah Bastable said the response from the village had been overwhelming.
        “People gave whatever they could, from a few pounds in a bucket to weeks of their time,”
        she said.

        The club now runs four senior sides and a junior section with more than eighty players.
        Coach Dev Mallin said youngsters had kept turning up throughout the rebuild, changing in
        the car park and eating their teas on the boundary.

        Members have also been rebuilding the lost archive. Families across the valley have lent
        old photographs to be copied, and a new honours board has been painted from records held
        by the league.

        The first match in the new pavilion is a league fixture against Brindlecombe next
        Saturday. The club says spectators are welcome and tea will be served.
        """,
        standfirst="Players and supporters raised most of the money for the rebuild themselves",
    ),
]


def _syndicated(original: Story, source: str, published: str) -> Story:
    """A partner's copy: same text plus one credit line, republished later under its own URL."""
    credit = f"This story first appeared in {PUBLICATIONS[source]}."
    return dataclasses.replace(original, published=published, syndicated_from=source,
                               paragraphs=(*original.paragraphs, credit))


STORIES: dict[str, list[Story]] = {
    "harbourtown": _HARBOURTOWN_OWN,
    "valleycourier": [
        *_VALLEY_OWN,
        _syndicated(_HARBOUR_WALL, "harbourtown", "2026-03-15T06:00:00+00:00"),
        _syndicated(_FERRY, "harbourtown", "2026-03-21T07:15:00+00:00"),
    ],
}

# Reader comments shown under articles; each is boilerplate for extraction purposes.
COMMENTS: tuple[tuple[str, str], ...] = (
    ("SeaviewSal", "Good to see the paper following this up properly, nobody else bothers to "
     "cover the town any more."),
    ("Old Quay Bill", "Forty years I have lived here and it is always the same story, promises "
     "first and the bill later."),
    ("marshlane_resident", "Does anyone know if there will be a public meeting about this? "
     "Would like to go along and ask a few questions."),
    ("Gorse Cottage", "Well written piece. Passed it on to the neighbours on our street group."),
    ("tidewatcher72", "Would be good to hear from the people actually affected next time, not "
     "just the officials."),
    ("JennyW", "This is exactly why a proper local paper matters. Keep up the good work, all of "
     "you."),
)

# Page chrome present on every article page of both sites, never part of an article body.
CHROME_MARKERS: tuple[str, ...] = (
    "Skip to main content",
    "Search this site",
    "e-Edition",
    "Share this article",
    "Advertisement",
    "OWNED BY OUR READERS",
    "reader-owned co-operative",
    "Become a supporter",
    "Fighting fund",
    "You've Raised",
    "We need:",
    "Days remaining",
    "Donate today",
    "Sign up for our newsletter",
    "Related stories",
    "Reader comments",
    "Leave a comment",
    "Most read",
    "We use cookies",
    "Back to top",
    "Privacy policy",
    "Advertise with us",
    "All rights reserved",
)

BOILERPLATE_MARKERS: list[str] = [*CHROME_MARKERS, *(text for _, text in COMMENTS)]
