"""The web endpoints that close the feedback loop: rating links, unsubscribe, digest view, the
manage page (a subscriber's home: interests, schedule, time zone, digest size, pause,
subscription, ratings and their undo), today's papers, and sign-up.

Only an explicit POST changes anything (mail scanners and link previewers fetch links on their
own, with GET or HEAD): a GET shows a page whose button POSTs, and a POST from another site's
page is refused. RFC 8058's one-click unsubscribe is a POST a mail client sends without
showing the page. Headers, the body-size cap and the origin check are :mod:`recommender.guards`'.
Every page is rendered from ``templates/web/`` with autoescaping; an expired or tampered link
gets a friendly page and changes nothing, as do an unknown address (404), a method a page does
not take (405), a body it cannot read (400) or too large (413), and a failure inside (500, its
traceback only logged). All the work is the facade's (:class:`recommender.core.Recommender`).
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from recommender import guards, links, profiles, render, resources
from recommender.core import PaperNotFound, Recommender, SignupLimited
from recommender.errors import NotFound
from recommender.mailer import DeliveryError
from recommender.manage import INTEREST_FORM, NEW_INTEREST
from recommender.profiles import ProfileError
from recommender.results import RatingInfo
from recommender.today import RANKED
from recommender.votes import VOTES

Handler = Callable[[Request], Awaitable[Response]]
# The sign-up form's fields: name, label, and the help shown under it.
SIGNUP_FORM = (
    ("email", "Email address", "Where your digests go. We mail a link to confirm it first."),
    ("name", "Name (optional)", "How your digests greet you."),
    (
        "interests",
        "Interests",
        'One per line: topics, methods or phrases, such as "speech recognition". '
        "You can change them any time.",
    ),
    (
        "liked",
        "Papers you like (optional)",
        "One per line: titles or arXiv ids (such as 2401.01234) of papers you have read and "
        "liked. The more you list, the better your first digests.",
    ),
)
SIGNUP_FIELDS = tuple(name for name, _, _ in SIGNUP_FORM)
SIGNUP_LABELS = {name: label for name, label, _ in SIGNUP_FORM}
Changer = Callable[[Request, FormData], Awaitable[Response]]
AnyHandler = Callable[..., Awaitable[Response]]

# What the page for an HTTP error says: its heading and what happened, by status. A status not
# here is said as 400's.
HTTP_ERRORS = {
    400: (
        "This request could not be read",
        "What was sent to this page is not what its own form sends: it may have been cut short "
        "or made by a program. Go back to the page and press its button again.",
    ),
    404: (
        "Page not found",
        "There is no page at this address. The pages of this site open from the links in your "
        "digest email; if you copied one, check that it was copied whole.",
    ),
    405: (
        "This page cannot do that",
        "This address does not take that kind of request. Open it in a browser, and change "
        "things with the buttons on its page.",
    ),
    413: (
        "Too much at once",
        f"What was sent is larger than any form here takes ({guards.MAX_BODY // 1024} KiB). "
        "If you pasted a long list, save it in parts.",
    ),
    500: (
        "Something went wrong on our side",
        "The page could not be shown just now. Please try again in a few minutes; if you "
        "pressed a button, look at the page again before you press it twice.",
    ),
}


# What the manage page calls each profile field it sets, in the messages naming a field.
FIELD_LABELS = {
    "interests": "Interests",
    "liked": "Papers you like",
    "interest": "Named interests",
    "authors": "Authors you follow",
    "must_not": "Words that keep a paper out",
    "schedule": "Schedule",
    "timezone": "Time zone",
    "digest_size": "Papers per digest",
    "min_score": "Minimum score",
}


# A value an error message quotes back (as its repr) longer than this is cut to its start and
# "…": the field holds it whole, and 10,000 characters said again buried the form under them.
QUOTED_SHOWN = 500
QUOTED_KEPT = 100
_LONG_QUOTE = re.compile(rf"'[^']{{{QUOTED_SHOWN},}}'|\"[^\"]{{{QUOTED_SHOWN},}}\"")


def brief(message: str) -> str:
    """``message`` with each value it quotes that is longer than :data:`QUOTED_SHOWN` cut."""
    return _LONG_QUOTE.sub(lambda quoted: f"{quoted[0][:QUOTED_KEPT]}…{quoted[0][0]}", message)


@dataclass(frozen=True)
class Problem:
    """Why a form on the manage page changed nothing: the field (None: the whole form), what
    is wrong, and what was sent (shown back in the form, to be corrected)."""

    field: str | None
    message: str
    sent: dict[str, str]


class Unchanged(Exception):
    """A manage-page form that asks for what cannot be done (400) or not any more (409);
    nothing changed."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


class FieldMissing(Exception):
    """A form sent without a field its page always sends (if only empty): a request made by
    hand, refused with a 400 naming the field; nothing changed."""

    message = "was not sent; the page's own form always sends it, if only empty"

    def __init__(self, field: str) -> None:
        super().__init__(f"{field}: {self.message}")
        self.field = field


def texts(form: FormData, *names: str) -> dict[str, str]:
    """The fields ``names`` that ``form`` has, as text."""
    return {name: str(form[name]) for name in names if name in form}


def every_text(form: FormData, *names: str) -> dict[str, str]:
    """The fields ``names`` of ``form``, as text; raise :class:`FieldMissing` naming the first
    one it lacks (left out, it would change nothing and still be answered "Saved")."""
    for name in names:
        if name not in form:
            raise FieldMissing(name)
    return texts(form, *names)


def repeated_field(form: FormData) -> str | None:
    """The first field ``form`` has more than once, if any. No form of ours sends one twice
    (each field is one text box, hidden value or the one button pressed), and the handlers
    read one value: a second would silently win over the first."""
    seen: set[str] = set()
    for name, _ in form.multi_items():
        if name in seen:
            return name
        seen.add(name)
    return None


def _unnamed_form(form: FormData) -> str:
    """Which manage-page form sent ``form`` without naming itself: the interests or a rating,
    as the page's forms did before each sent its name; else none ("")."""
    if "interests" in form:
        return "interests"
    return "rate" if "vote" in form else ""


def create_app(app: Recommender) -> ASGIApp:
    """The ASGI application over one facade."""
    pages = app.pages  # every change a page makes goes through these
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.templates_dir() / "web")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=render.without_bidi_controls,
    )
    env.filters["shorten"] = render.trim  # an abstract cut as the email cuts it, with "…"
    env.filters["standing"] = render.standing  # a score as a person reads it, as the email says it
    env.filters["brief"] = brief  # an error message, a long value it quotes cut

    def page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**values), status_code=status)

    def error_page(
        status: int, headers: Mapping[str, str] | None = None, explanation: str | None = None
    ) -> HTMLResponse:
        heading, usual = HTTP_ERRORS.get(status, HTTP_ERRORS[400])
        explanation = explanation or usual
        response = page(
            "http_error.html", status, code=status, heading=heading, explanation=explanation
        )
        response.headers.update(headers or {})  # a 405's Allow
        return response

    async def http_error(request: Request, exc: Exception) -> Response:
        """Starlette's own refusals (no such page, a method the page does not take, a form it
        cannot parse) as pages, with their status and headers."""
        assert isinstance(exc, HTTPException)
        return error_page(exc.status_code, exc.headers)

    async def server_error(request: Request, exc: Exception) -> Response:
        # Starlette logs the traceback (through the server) after this page is sent.
        return error_page(500)

    def guarded(handler: Callable[[Request], Awaitable[Response]]) -> Handler:
        """Turn a bad link into a friendly page; nothing has changed when it shows."""

        async def wrapper(request: Request) -> Response:
            try:
                return await handler(request)
            except links.TokenExpired:
                return page("link_problem.html", 410, expired=True)
            except (links.TokenInvalid, NotFound):
                return page("link_problem.html", 400, expired=False)

        return wrapper

    async def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # The facade is synchronous (database, model): keep it off the event loop.
        return await run_in_threadpool(function, *args, **kwargs)

    def link(read: Handler, change: Changer) -> Handler:
        """One endpoint for a link whose POST changes something.

        Only an explicit POST reaches ``change``, and only once its page is ours (or it says
        where from: a mail client's one-click) and its whole form is read, holding no file and
        no field twice, so a refused or oversized POST has changed nothing. Every other method
        the route answers reads: Starlette answers HEAD on every GET route, and mail scanners
        send HEAD.
        """

        async def endpoint(request: Request) -> Response:
            if request.method != "POST":
                return await read(request)
            own = {guards.origin(app.settings.base_url), guards.origin(str(request.base_url))}
            if guards.from_elsewhere(request.headers, own):
                return page("cross_site.html", 403)
            form = await request.form()
            if not all(isinstance(value, str) for _, value in form.multi_items()):
                await form.close()  # no page of ours sends a file: nothing is read from one
                return error_page(400, explanation="A file was sent: no page here takes one.")
            repeated = repeated_field(form)
            if repeated is not None:
                shown = repeated if len(repeated) <= 40 else repeated[:39] + "…"
                explanation = f"The field {shown!r} was sent more than once: no form here does."
                return error_page(400, explanation=explanation)
            return await change(request, form)

        return guarded(endpoint)

    async def rating(request: Request) -> Response:
        link = await call(pages.open_rating_link, request.path_params["token"])
        kept = request.query_params.get("keep") == "1"  # "No, change nothing": a way out
        return page("rate_confirm.html", link=link, kept=kept, action=request.url.path)

    async def rate(request: Request, form: FormData) -> Response:
        token = request.path_params["token"]
        undo = form.get("undo") == "1"
        link = await call(pages.confirm_rating_link, token, undo=undo)
        return page("rate_done.html", link=link, undone=undo, action=request.url.path)

    async def unsubscribe_page(request: Request) -> Response:
        user = await call(pages.open_subscriber_link, "unsubscribe", request.path_params["token"])
        kept = request.query_params.get("keep") == "1"  # "Keep my digest": nothing to change
        return page("unsubscribe_confirm.html", user=user, kept=kept, action=request.url.path)

    async def unsubscribe(request: Request, form: FormData) -> Response:
        token = request.path_params["token"]
        if form.get("resubscribe") == "1":  # the button on the page after unsubscribing
            user = await call(pages.confirm_resubscribe_link, token)
            return page("unsubscribe_done.html", user=user, action=request.url.path)
        user = await call(pages.confirm_unsubscribe_link, token)
        if form.get("List-Unsubscribe") == "One-Click":  # RFC 8058: a mail client, not a person
            return PlainTextResponse("unsubscribed\n")
        return page("unsubscribe_done.html", user=user, action=request.url.path)

    @guarded
    async def digest(request: Request) -> Response:
        html = await call(pages.digest_html, request.path_params["token"])
        return HTMLResponse(html)

    # -- the manage page: the subscriber's home, one form per change, each posting back ------

    zones = sorted(zoneinfo.available_timezones())
    timezone_js = (resources.templates_dir() / "web" / "static" / "timezone.js").read_bytes()

    async def manage_page(
        request: Request,
        saved: str | None = None,
        *,
        problem: Problem | None = None,
        status: int = 200,
    ) -> Response:
        opened = await call(pages.open_manage_link, request.path_params["token"])
        today_url = links.today_url(app.settings.base_url, opened.today_token)
        return page(
            "manage.html",
            status,
            user=opened.subscriber,
            ratings=opened.ratings,
            history=opened.history,
            saved=saved,
            today_url=today_url,
            problem=problem,
            zones=zones,
            default_zone=profiles.DEFAULT_TIMEZONE,
            max_digest_size=profiles.MAX_DIGEST_SIZE,
            labels=FIELD_LABELS,
            action=request.url.path,
        )

    async def manage(request: Request, form: FormData) -> Response:
        token = request.path_params["token"]
        name = str(form.get("form") or _unnamed_form(form))
        if name not in MANAGE_FORMS:
            forms = ", ".join(MANAGE_FORMS)
            problem = Problem(None, f"unknown form {name!r}; this page's forms are {forms}", {})
            return await manage_page(request, problem=problem, status=400)
        try:
            saved = await MANAGE_FORMS[name](token, form)
        except profiles.ProfileError as exc:
            sent = {key: str(value) for key, value in form.items()}
            if name == "interest":  # shown back whole: a field left out of the form is empty
                sent = {**dict.fromkeys(INTEREST_FORM, ""), **sent}
            problem = Problem(exc.field, exc.message, sent)
            return await manage_page(request, problem=problem, status=422)
        except FieldMissing as exc:
            sent = {key: str(value) for key, value in form.items()}
            problem = Problem(exc.field, exc.message, sent)
            return await manage_page(request, problem=problem, status=400)
        except Unchanged as exc:
            problem = Problem(None, str(exc), {})
            return await manage_page(request, problem=problem, status=exc.status)
        except PaperNotFound as exc:  # a rating or an undo of a paper not in the catalogue
            problem = Problem(None, f"paper: {exc}", {})
            return await manage_page(request, problem=problem, status=400)
        return await manage_page(request, saved)

    async def save_interests(token: str, form: FormData) -> str:
        await call(pages.change_interest_lists, token, texts(form, "interests", "liked"))
        return "Your interests are saved; your next digest follows them."

    async def save_interest(token: str, form: FormData) -> str:
        number = str(form.get("number", ""))
        values = texts(form, *INTEREST_FORM)
        was = texts(form, "was").get("was")  # the page's form says which interest it showed
        user = await call(pages.save_named_interest, token, number, values, was)
        name = values.get("name", "").strip()  # as the profile check keeps it
        topic = next((t for t in user.topics if t["name"] == name), {"share": 0})
        verb = "Added" if number == NEW_INTEREST else "Saved"
        if topic["share"] <= 0:
            return (
                f"{verb} your interest “{name}”; the others' shares leave it no slots of its own."
            )
        return f"{verb} your interest “{name}”: {topic['share']:.0%} of each digest."

    async def drop_interest(token: str, form: FormData) -> str:
        name = str(form.get("name", ""))
        await call(pages.remove_named_interest, token, str(form.get("number", "")), name)
        return f"Removed your interest “{name}”; its papers now compete with the rest."

    async def save_follows(token: str, form: FormData) -> str:
        user = await call(pages.change_interest_lists, token, texts(form, "authors", "must_not"))
        followed = f"{len(user.authors)} author{'s' if len(user.authors) != 1 else ''}"
        words = f"{len(user.must_not)} word{'s' if len(user.must_not) != 1 else ''}"
        return f"Saved: you follow {followed}, and {words} keep papers out."

    async def save_schedule(token: str, form: FormData) -> str:
        user = await call(pages.change_settings, token, every_text(form, "schedule", "timezone"))
        return f"Saved: your digest comes {user.schedule}, {user.timezone} time."

    async def save_size(token: str, form: FormData) -> str:
        user = await call(
            pages.change_settings, token, every_text(form, "digest_size", "min_score")
        )
        least = "any score" if user.min_score is None else f"a score of at least {user.min_score:g}"
        return f"Saved: up to {user.digest_size} papers a digest, of {least}."

    async def pause(token: str, form: FormData) -> str:
        await call(pages.pause_from_manage_link, token, paused=True)
        return "Your digests are paused. Nothing is sent, or saved up, until you resume."

    async def resume(token: str, form: FormData) -> str:
        await call(pages.pause_from_manage_link, token, paused=False)
        return "Your digests are back on; the next one brings what arrived since your last."

    async def unsubscribe_here(token: str, form: FormData) -> str:
        await call(pages.subscribe_from_manage_link, token, subscribed=False)
        return "You are unsubscribed. Your interests and ratings are kept, in case you come back."

    async def resubscribe_here(token: str, form: FormData) -> str:
        await call(pages.subscribe_from_manage_link, token, subscribed=True)
        return "Welcome back: your digests start again."

    async def rate_here(token: str, form: FormData) -> str:
        vote = str(form.get("vote", ""))
        if vote not in VOTES:
            raise Unchanged(f"{vote!r} is not a vote; use up, down or clear", 400)
        rated = await call(pages.rate_from_manage_link, token, str(form.get("paper", "")), vote)
        if vote == "clear":
            return f"Your rating of “{rated.title}” is cleared."
        return f"You rated “{rated.title}” {vote}."

    async def undo(token: str, form: FormData) -> str:
        paper, undone = str(form.get("paper", "")), str(form.get("undo", ""))
        restored = await call(pages.undo_rating_from_manage_link, token, paper, undone)
        if restored is None:
            raise Unchanged("that rating has changed since the page showed it; nothing was undone")
        if restored.vote == "clear":
            return f"Undone: “{restored.title}” is not rated any more."
        return f"Undone: “{restored.title}” is rated {restored.vote} again."

    MANAGE_FORMS: dict[str, Callable[[str, FormData], Awaitable[str]]] = {
        "interests": save_interests,
        "interest": save_interest,
        "remove_interest": drop_interest,
        "follows": save_follows,
        "schedule": save_schedule,
        "size": save_size,
        "pause": pause,
        "resume": resume,
        "unsubscribe": unsubscribe_here,
        "resubscribe": resubscribe_here,
        "rate": rate_here,
        "undo": undo,
    }

    async def static_timezone(request: Request) -> Response:
        return Response(timezone_js, media_type="text/javascript")

    # -- the manage page ends ----------------------------------------------------------------

    # -- sign-up (recommender.signup): a 404 unless the ``signup`` setting is on -------------

    def signup_only(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            if not app.settings.signup:
                return error_page(404)
            return await handler(request)

        return endpoint

    def signup_token(handler: AnyHandler) -> AnyHandler:
        """A sign-up link that does not work gets its own page (saying to sign up again)."""

        async def wrapper(request: Request, *args: Any) -> Response:
            try:
                return await handler(request, *args)
            except links.TokenExpired:
                return confirm_page(410, problem="expired")
            except links.TokenInvalid:
                return confirm_page(400, problem="invalid")

        return wrapper

    def confirm_page(status: int = 200, **values: Any) -> HTMLResponse:
        shown = {"problem": None, "done": None, "pending": None, "action": "", **values}
        return page("signup_confirm.html", status, **shown)

    def signup_form(status: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("values", dict.fromkeys(SIGNUP_FIELDS, ""))
        values.setdefault("problems", {})  # what is wrong, by field (None: the whole form)
        values.setdefault("sent", False)
        values.setdefault("failed", False)
        return page("signup.html", status, fields=SIGNUP_FORM, **values)

    async def signup_page(request: Request) -> Response:
        return signup_form(action=request.url.path)

    async def signup(request: Request, form: FormData) -> Response:
        values = {name: str(form.get(name, "")) for name in SIGNUP_FIELDS}
        client = request.client.host if request.client else ""
        try:
            mailed = await call(pages.sign_up, **values, client=client)
        except ProfileError as error:
            problems = getattr(error, "problems", {error.field: error.message})
            return signup_form(400, values=values, problems=problems, action=request.url.path)
        except SignupLimited as limited:
            seconds = math.ceil(limited.retry_after.total_seconds())
            response = page("signup_limited.html", 429, limited=limited, wait=_wait(seconds))
            response.headers["Retry-After"] = str(seconds)
            return response
        except DeliveryError:
            return signup_form(503, values=values, failed=True, action=request.url.path)
        return signup_form(values={**values, "email": mailed}, sent=True)

    @signup_token
    async def signup_confirm_page(request: Request) -> Response:
        pending = await call(pages.open_signup_link, request.path_params["token"])
        return confirm_page(pending=pending, action=request.url.path)

    @signup_token
    async def signup_confirm(request: Request, form: FormData) -> Response:
        done = await call(pages.confirm_signup_link, request.path_params["token"])
        return confirm_page(done=done)

    signup_routes = [
        Route("/signup", signup_only(link(signup_page, signup)), methods=["GET", "POST"]),
        Route(
            f"/{links.SIGNUP_CONFIRM_PATH}/{{token}}",
            signup_only(link(signup_confirm_page, signup_confirm)),
            methods=["GET", "POST"],
        ),
    ]

    # -- today's papers (recommender.today): the page, and its rating buttons ----------------

    async def today_page(
        request: Request,
        rated: RatingInfo | None = None,
        shown: list[str] | None = None,
        problem: str | None = None,
    ) -> Response:
        opened = await call(pages.open_today_link, request.path_params["token"])
        # Where each paper stood on the page the rating came from, to show how the ranking moved.
        before = {paper_id: place for place, paper_id in enumerate(shown or [], 1)}
        return page(
            "today.html",
            400 if problem else 200,
            today=opened,
            just=rated,
            before=before,
            problem=problem,
            action=request.url.path,
        )

    async def rate_today(request: Request, form: FormData) -> Response:
        """A rating button: its name is the vote (up, down, clear), its value the paper."""
        chosen = [(vote, str(form[vote])) for vote in VOTES if vote in form]
        if len(chosen) != 1:
            problem = "vote: press one rating button (More like this, Less like this or Undo)"
            return await today_page(request, problem=problem)
        ((vote, paper),) = chosen
        try:
            rated = await call(
                pages.rate_from_today_link, request.path_params["token"], paper, vote
            )
        except PaperNotFound as exc:
            return await today_page(request, problem=str(exc))
        shown = str(form.get("shown", "")).split()[:RANKED]
        return await today_page(request, rated, shown)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    routes = [
        Route("/r/{token}", link(rating, rate), methods=["GET", "POST"]),
        Route("/unsubscribe/{token}", link(unsubscribe_page, unsubscribe), methods=["GET", "POST"]),
        Route("/digest/{token}", digest, methods=["GET"]),
        Route("/manage/{token}", link(manage_page, manage), methods=["GET", "POST"]),
        Route("/today/{token}", link(today_page, rate_today), methods=["GET", "POST"]),
        Route("/static/timezone.js", static_timezone, methods=["GET"]),
        Route("/healthz", health, methods=["GET"]),
        *signup_routes,
    ]
    routed = Starlette(
        routes=routes, exception_handlers={HTTPException: http_error, Exception: server_error}
    )
    # Around the whole of Starlette, not among its middleware: Starlette answers a failure
    # (the 500 page) outside all of those, and that page needs the headers too.
    return guards.Hardened(routed, too_large_page=bytes(error_page(413).body))


def _wait(seconds: int) -> str:
    """A wait in words: "3 minutes", "2 hours"."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = math.ceil(seconds / size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "a minute"
