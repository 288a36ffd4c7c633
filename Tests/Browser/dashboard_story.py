#!/usr/bin/env python3
"""The dashboard in a real browser: Debian's Chromium, headless, driven by Selenium.

Starts scimd with --dashboard on a free loopback port, over a fresh database; creates a SCIM
connection and two operators over the JSON-RPC socket; replays fixture scenarios into the
connection with `scimctl replay`; then walks the seed's story by clicks and form posts:
the connections page shows the warning, Users with Warnings lists the user, the user page shows
`group` looked for at the enterprise path and the raw data holding "group": "Managers", the
operator adds the fallback path `group` in the mapping editor, sees the preview, saves, and the
warning is gone with the mapped value in its place. It also checks sign-in, a viewer refused an
edit, a form without the CSRF token refused, keyboard access and labels, and writes a screenshot
of every page (laptop and phone width) to --screenshots.

Run by scripts/browser-test (which makes the virtual environment with Selenium).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

ENTERPRISE_GROUP = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:group"


def unloaded(element):
    """A wait condition: `element`'s page has been unloaded. Like Selenium's `staleness_of`, but
    Chromium sometimes reports a node of a page being unloaded as "Node with given id does not
    belong to the document" (an unknown error, not a stale element): that means gone too."""
    def condition(_driver):
        try:
            element.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
    return condition


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class RPC:
    """JSON-RPC 2.0 over scimd's Unix socket, one line per message."""

    def __init__(self, path):
        self.path = path
        self.next_id = 0

    def call(self, rpc_method, **params):
        self.next_id += 1
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(self.path)
            s.sendall((json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": rpc_method, "params": params}) + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        answer = json.loads(data)
        if "error" in answer:
            raise Failure(f"{rpc_method}: {answer['error']}")
        return answer["result"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Story:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.socket = os.path.join(work, "scimd.sock")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.rpc = RPC(self.socket)
        self.shots = args.screenshots
        self.daemon = None
        self.driver = None

    # --- setup -------------------------------------------------------------------------------

    def start_daemon(self):
        self.log = open(os.path.join(self.work, "scimd.log"), "w")
        self.daemon = subprocess.Popen(
            [self.args.scimd, "--socket", self.socket, "--database", os.path.join(self.work, "scimd.sqlite"),
             "--dashboard", f"127.0.0.1:{self.port}", "--password-hash-cost", "10", "--log-level", "info"],
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if self.rpc.call("system.health")["status"] == "ok":
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        return
            except (OSError, Failure, json.JSONDecodeError):
                pass
            time.sleep(0.1)
        raise Failure("scimd did not start (see its log below)")

    def seed(self):
        connection = self.rpc.call("connections.create", name="Acme Corp", customerId="cus_1042", idp="Okta")["connection"]
        self.connection_id = connection["id"]
        mapping = self.rpc.call("mapping.get", connection=self.connection_id)
        users = mapping["users"]
        users["properties"].append({"name": "group", "type": "string", "path": ENTERPRISE_GROUP, "warnIfMissing": True})
        self.rpc.call("mapping.set", connection=self.connection_id, users=users, comment="group from the enterprise extension")
        fixtures = os.path.join(self.args.fixtures)
        for name in ["okta-group-push.json", "entra-user-lifecycle.json"]:
            self.replay(os.path.join(fixtures, name))
        self.replay(os.path.join(os.path.dirname(__file__), "seed-group-at-top-level.json"))
        self.admin_password = self.rpc.call("operators.add", name="olivia", role="admin")["password"]
        self.viewer_password = self.rpc.call("operators.add", name="victor", role="viewer")["password"]
        self.rpc.call("connections.create", name="Globex", idp="Microsoft Entra ID")

    def replay(self, path):
        result = subprocess.run(
            [self.args.scimctl, "--socket", self.socket, "replay", path, "--connection", self.connection_id],
            capture_output=True, text=True)
        check(result.returncode == 0, f"scimctl replay {path} failed: {result.stdout}{result.stderr}")

    def start_browser(self):
        options = webdriver.ChromeOptions()
        options.binary_location = self.args.chromium
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                         "--lang=en-US", "--no-first-run"]:
            options.add_argument(argument)
        self.driver = webdriver.Chrome(service=Service(executable_path=self.args.chromedriver), options=options)
        self.driver.set_page_load_timeout(30)

    # --- helpers -----------------------------------------------------------------------------

    def open(self, path):
        self.driver.get(self.base + path)

    @property
    def page(self):
        return self.driver.find_element(By.TAG_NAME, "body").text

    def shot(self, name, phone=False):
        if not self.shots:
            return
        os.makedirs(self.shots, exist_ok=True)
        if phone:
            self.driver.set_window_size(390, 844)
        # The whole page, not only the first screen: grow the window to the document's height.
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        width = 390 if phone else 1280
        self.driver.set_window_size(width, min(max(height + 120, 600), 4000))
        self.driver.save_screenshot(os.path.join(self.shots, f"{name}.png"))
        self.driver.set_window_size(1280, 900)

    def navigate(self, action):
        """Runs `action` (a click or a form submission) and waits until the next page has loaded."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        try:
            action()
        except WebDriverException as error:
            # Chromium can fail a click whose navigation unloads the page while the command is
            # still finishing ("Node with given id does not belong to the document"). The click
            # happened if the page went away; if it did not, the error stands.
            try:
                WebDriverWait(self.driver, 5).until(unloaded(old))
            except TimeoutException:
                raise error from None
        WebDriverWait(self.driver, 20).until(unloaded(old))
        WebDriverWait(self.driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")

    def click(self, element):
        self.navigate(element.click)

    def click_link(self, text):
        self.click(self.driver.find_element(By.LINK_TEXT, text))

    def tab(self, key):
        """Clicks a connection tab (its label carries a count, so it is found by its address)."""
        self.click(self.driver.find_element(By.CSS_SELECTOR, f"nav.tabs a[href$='/{key}']"))

    def sign_in(self, name, password):
        self.open("/connections")
        check(self.driver.current_url.startswith(self.base + "/signin"), f"not sent to sign in: {self.driver.current_url}")
        self.driver.find_element(By.ID, "name").send_keys(name)
        self.driver.find_element(By.ID, "password").send_keys(password)
        self.click(self.driver.find_element(By.CSS_SELECTOR, "form[action='/signin'] button[type=submit]"))

    def sign_out(self):
        self.click(self.driver.find_element(By.CSS_SELECTOR, "form[action='/signout'] button"))
        check("Sign in" in self.page, "signing out did not show the sign-in page")

    def post_forged_form(self, action, fields):
        """Submits a form the pages do not offer, from the page itself (what a crafted request does)."""
        self.navigate(lambda: self.driver.execute_script(
            """const [action, fields] = arguments;
               const form = document.createElement('form');
               form.method = 'post'; form.action = action;
               for (const [name, value] of fields) {
                 const input = document.createElement('input');
                 input.type = 'hidden'; input.name = name; input.value = value; form.appendChild(input);
               }
               document.body.appendChild(form); form.submit();""",
            action, fields))

    # --- the story ---------------------------------------------------------------------------

    def run(self):
        self.start_daemon()
        self.seed()
        self.start_browser()
        base = f"/connections/{self.connection_id}"
        d = self.driver

        # Sign-in: a wrong password is refused; the right one lands on the page asked for.
        self.open("/signin")
        self.shot("01-sign-in")
        self.sign_in("olivia", "not-the-password")
        check("Wrong name or password." in self.page, "a wrong password was not refused")
        d.find_element(By.ID, "password").send_keys(self.admin_password)
        self.click(d.find_element(By.CSS_SELECTOR, "form[action='/signin'] button[type=submit]"))
        check(d.current_url == self.base + "/connections", f"after sign-in: {d.current_url}")

        # Keyboard: the first Tab reaches the skip link; every visible form control has a label.
        d.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        check(d.switch_to.active_element.text == "Skip to content", "the first Tab does not reach the skip link")

        # Connections: the warning count, linked to the list. Every user misses `group` at the
        # enterprise path: the four the fixtures created (they send no group at all) and Maria.
        users_with_warnings = self.rpc.call("warnings.summary", connection=self.connection_id)["connections"][0]["openWarnings"]
        check(users_with_warnings == 5, f"warnings.summary says {users_with_warnings} open warnings, expected 5")
        row = d.find_element(By.CSS_SELECTOR, "tr[data-connection='Acme Corp']")
        warning_link = row.find_element(By.CSS_SELECTOR, "a.warn")
        check(warning_link.text == "5", f"connections page shows {warning_link.text!r} open warnings, expected 5")
        self.shot("02-connections")
        self.shot("02-connections-phone", phone=True)

        # Users with Warnings lists the user.
        self.click(warning_link)
        check("maria.garcia@example.com" in self.page, "Users with Warnings does not list maria.garcia@example.com")
        check(f"no value at {ENTERPRISE_GROUP}" in self.page, "the warning does not say where group was looked for")
        self.shot("03-users-with-warnings")

        # The user page: the trace and the raw data.
        self.click(d.find_element(By.LINK_TEXT, "maria.garcia@example.com"))
        trace = d.find_element(By.CSS_SELECTOR, "#trace tr[data-property='group']").text
        check(ENTERPRISE_GROUP in trace and "nothing there" in trace, f"the trace of group: {trace!r}")
        raw = d.find_element(By.ID, "raw").text
        check('"group": "Managers"' in raw, "the raw data does not show \"group\": \"Managers\"")
        self.shot("04-user-with-warning")
        self.shot("04-user-with-warning-phone", phone=True)

        # The example request, one click away.
        self.click(d.find_element(By.PARTIAL_LINK_TEXT, "example request"))
        check("POST /Users" in self.page and "Managers" in self.page, "the example request page does not show the request")
        check("Bearer" not in self.page, "the request page shows a bearer token")
        self.shot("05-request")

        # Mapping editor: add the fallback path `group` with a click, see the preview, save.
        self.open(f"{base}/mapping")
        self.click(d.find_element(By.PARTIAL_LINK_TEXT, "find where the data is"))
        check("Add group as a fallback path of group" in self.page, "mapping.suggest did not find the top-level group")
        self.shot("06-mapping")
        field = d.find_element(By.ID, "fallback-group")
        check(self.labelled(field), "the fallback path input has no label")
        field.send_keys("group")
        self.click(field.find_element(By.XPATH, "./following-sibling::button"))
        check("Unsaved draft" in self.page, "adding a fallback path did not open a draft")
        preview = d.find_element(By.ID, "preview").text
        check("group: 1 resource would have their warning resolved" in preview, f"the preview: {preview!r}")
        check(self.rpc.call("mapping.get", connection=self.connection_id)["version"] == 2, "a preview saved the mapping")
        self.shot("07-mapping-preview")
        d.find_element(By.ID, "comment").send_keys("Okta sends group at the top level")
        self.click(d.find_element(By.CSS_SELECTOR, "form.save button[type=submit]"))
        check("Saved version 3" in self.page, f"saving did not report version 3: {self.page[:300]!r}")

        # Maria's warning is gone and the mapped value is there; the users who send no group keep theirs.
        self.open("/connections")
        row = d.find_element(By.CSS_SELECTOR, "tr[data-connection='Acme Corp']")
        warning_link = row.find_element(By.CSS_SELECTOR, "a.warn")
        check(warning_link.text == "4", f"after the fix the connections page shows {warning_link.text!r} open warnings, expected 4")
        self.click_link("Acme Corp")
        self.tab("warnings")
        check("maria.garcia@example.com" not in self.page, "Users with Warnings still lists Maria after the fix")
        self.tab("users")
        self.shot("08-users")
        self.click_link("maria.garcia@example.com")
        trace = d.find_element(By.CSS_SELECTOR, "#trace tr[data-property='group']").text
        check('"Managers"' in trace and "group — matched" in trace, f"the trace after the fix: {trace!r}")
        check("Open warnings" not in self.page, "the user page still lists a warning")
        self.shot("09-user-fixed")

        # Live: the users list follows the change feed; a user the IdP creates now appears without a reload.
        self.open(f"{base}/users")
        marker = d.execute_script("window.__notReloaded = true; return window.__notReloaded;")
        check(marker, "could not mark the page")
        self.rpc.call("scim.handle", connection=self.connection_id, method="POST", path="/Users",
                      headers={"Content-Type": "application/scim+json"},
                      body=json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "new.hire@example.com"}))
        WebDriverWait(d, 15).until(lambda driver: "new.hire@example.com" in self.page)
        check(d.execute_script("return window.__notReloaded === true;"), "the page reloaded instead of updating in place")
        check("Live: updated after" in self.page, "the live note does not say the page was updated")
        self.shot("08b-users-live")

        # The other tabs, for the record.
        self.open(f"{base}/mapping/history")
        check("by operator:olivia" in self.page, "the history does not say which operator saved")
        self.shot("10-mapping-history")
        for path, name in [(f"{base}/groups", "11-groups"), (f"{base}/requests", "12-requests"), (f"{base}/events", "13-events"),
                           (f"{base}/settings", "14-settings")]:
            self.open(path)
            check(d.find_elements(By.CSS_SELECTOR, "nav.tabs a.current"), f"{path} has no current tab")
            self.shot(name)
        self.open(f"{base}/groups")
        self.click(d.find_element(By.CSS_SELECTOR, "table tbody th a"))
        self.shot("15-group")
        self.check_labels()

        # CSRF: a form without the session's token is refused and changes nothing.
        self.open(f"{base}/settings")
        self.post_forged_form(f"{base}/settings", [["disabled", "true"]])
        check("security token" in self.page, "a form without the CSRF token was not refused")
        check(not self.rpc.call("connections.get", connection=self.connection_id)["disabled"], "the forged form disabled the connection")
        self.shot("16-csrf-refused")
        self.open("/connections")
        self.sign_out()

        # A viewer sees the editor without its forms, and an edit they post anyway is refused.
        self.sign_in("victor", self.viewer_password)
        self.open(f"{base}/mapping")
        check(not d.find_elements(By.CSS_SELECTOR, "form.add-fallback"), "a viewer is offered the editor's forms")
        token = d.find_element(By.CSS_SELECTOR, "form[action='/signout'] input[name=_csrf]").get_attribute("value")
        draft = json.dumps({"properties": []})
        self.post_forged_form(f"{base}/mapping/save", [["_csrf", token], ["kind", "users"], ["baseVersion", "3"], ["draft", draft]])
        check("Viewers cannot change anything" in self.page, "a viewer's edit was not refused")
        check(self.rpc.call("mapping.get", connection=self.connection_id)["version"] == 3, "a viewer's edit changed the mapping")
        self.shot("17-viewer-refused")
        print(f"dashboard browser story: ok ({len(os.listdir(self.shots)) if self.shots else 0} screenshots)")

    def labelled(self, element):
        return self.driver.execute_script(
            "const e = arguments[0]; return e.labels.length > 0 || e.hasAttribute('aria-label') || e.hasAttribute('aria-labelledby');",
            element)

    def check_labels(self):
        """Every visible form control on the pages an admin uses most has a label."""
        for path in ["/connections", f"/connections/{self.connection_id}/users", f"/connections/{self.connection_id}/mapping",
                     f"/connections/{self.connection_id}/requests"]:
            self.open(path)
            unlabelled = self.driver.execute_script(
                """return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
                     .filter(e => e.tagName === 'BUTTON' ? !(e.textContent.trim() || e.hasAttribute('aria-label'))
                                  : !(e.labels.length || e.hasAttribute('aria-label')))
                     .map(e => e.outerHTML.slice(0, 120));""")
            check(not unlabelled, f"{path}: controls without a label: {unlabelled}")

    def stop(self):
        if self.driver:
            self.driver.quit()
        if self.daemon:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.daemon.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scimd", required=True)
    parser.add_argument("--scimctl", required=True)
    parser.add_argument("--fixtures", required=True, help="the fixture scenarios (Tests/SCIMDServiceTests/Fixtures/idp)")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument("--screenshots", help="write a PNG of each page here")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="scimd-browser-")
    story = Story(args, work)
    try:
        story.run()
        return 0
    except Exception as error:  # noqa: BLE001 - any failure is reported with the daemon's log
        print(f"dashboard browser story FAILED: {error}", file=sys.stderr)
        if story.driver:
            print(f"at {story.driver.current_url}:\n{story.page[:2000]}", file=sys.stderr)
        log = os.path.join(work, "scimd.log")
        if os.path.exists(log):
            print("--- scimd log ---\n" + open(log).read()[-6000:], file=sys.stderr)
        return 1
    finally:
        story.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
