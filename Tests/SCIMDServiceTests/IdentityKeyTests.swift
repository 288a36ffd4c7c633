import Foundation
import SCIMDProtocol
import SCIMDService
import SCIMJSON
import Testing

/// Strings that become keys, index entries, filter operands or SSO matches are carried exactly or
/// refused: U+0000 (which SQLite's C interface would cut the string at) is refused everywhere;
/// Unicode case folding and NFC/NFD equivalence behave the same in uniqueness, filters and SSO.
@Suite struct IdentityKeyTests {
    /// The SCIM error a response carries: (status, scimType, detail).
    func error(_ r: (status: Int, body: JSONValue?, result: SCIMHandle.Result)) -> (Int, String?, String) {
        (r.status, r.body?["scimType"]?.stringValue, r.body?["detail"]?.stringValue ?? "")
    }

    @Test func userNameWithNULIsRefusedAndDoesNotBlockTheRealName() async throws {
        let f = try ServiceFixture()
        let token = try await f.connection().token
        let refused = await f.scim("POST", "/Users", token: token, body: ["userName": "ada@example.com\u{0}x"])
        let (status, scimType, detail) = error(refused)
        #expect(status == 400)
        #expect(scimType == "invalidValue")
        #expect(detail.contains("'userName'") && detail.contains("U+0000"), "\(detail)")
        // Nothing was stored: the real name is free, and a filter finds exactly it.
        let created = await f.scim("POST", "/Users", token: token, body: ["userName": "ada@example.com"])
        #expect(created.status == 201)
        let found = await f.scim("GET", "/Users?filter=userName%20eq%20%22ada@example.com%22", token: token)
        #expect(found.body?["totalResults"] == 1)
        let sso = try await f.service.resolveSSO(.init(connection: "Acme", claims: ["email": "ada@example.com"]))
        #expect(sso.verdict == "allow")
        #expect(sso.user?.userName == "ada@example.com")
    }

    static let refusedBodies: [(String, JSONValue, String)] = [
        ("/Users", JSONValue.object(["userName": "bob@example.com", "externalId": "ext\u{0}1"]), "externalId"),
        ("/Users", ["userName": "bob@example.com", "emails": [["value": "work@example.com"], ["value": "b\u{0}@example.com"]]], "emails[1].value"),
        ("/Users", ["userName": "bob@example.com", "name": ["givenName": "B\u{0}b"]], "name.givenName"),
        ("/Users", ["userName": "bob@example.com", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": ["department": "R\u{0}D"]],
         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department"),
        ("/Users", ["userName": "bob@example.com", "nick\u{0}Name": "b"], "nick\\u0000Name"),
        ("/Groups", ["displayName": "Ops\u{0}Admins"], "displayName"),
    ]

    @Test(arguments: refusedBodies)
    func anyStringWithNULIsRefusedNamingTheAttribute(_ path: String, _ body: JSONValue, _ location: String) async throws {
        let f = try ServiceFixture()
        let token = try await f.connection().token
        let r = await f.scim("POST", path, token: token, body: body)
        let (status, scimType, detail) = error(r)
        #expect(status == 400)
        #expect(scimType == "invalidValue")
        #expect(detail.contains("'\(location)'"), "\(detail)")
        let info = try await f.service.getConnection("Acme")
        #expect(info.users == 0 && info.groups == 0)
    }

    @Test func groupDisplayNameWithNULDoesNotBlockTheShortName() async throws {
        let f = try ServiceFixture()
        let token = try await f.connection().token
        #expect(await f.scim("POST", "/Groups", token: token, body: ["displayName": "Ops\u{0}Admins"]).status == 400)
        #expect(await f.scim("POST", "/Groups", token: token, body: ["displayName": "Ops"]).status == 201)
    }

    @Test func patchAndPutWithNULChangeNothing() async throws {
        let f = try ServiceFixture()
        let token = try await f.connection().token
        let created = await f.scim("POST", "/Users", token: token, body: ["userName": "ada@example.com", "title": "Engineer"])
        let id = try #require(created.body?["id"]?.stringValue)
        let patch = await f.scim(
            "PATCH", "/Users/\(id)", token: token,
            body: ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [["op": "replace", "path": "userName", "value": "ada@example.com\u{0}evil"]]])
        #expect(patch.status == 400)
        #expect(error(patch).2.contains("'Operations[0].value'"), "\(error(patch).2)")
        let put = await f.scim("PUT", "/Users/\(id)", token: token, body: ["userName": "ada@example.com", "title": "E\u{0}"])
        #expect(put.status == 400)
        let now = await f.scim("GET", "/Users/\(id)", token: token)
        #expect(now.body?["userName"] == "ada@example.com")
        #expect(now.body?["title"] == "Engineer")
    }

    @Test func filterOperandWithNULIsAnInvalidFilter() async throws {
        let f = try ServiceFixture()
        let token = try await f.connection().token
        // A JSON escape inside the filter's string literal…
        let escaped = await f.scim("GET", "/Users?filter=userName%20eq%20%22ada%5Cu0000%22", token: token)
        #expect(escaped.status == 400)
        #expect(error(escaped).1 == "invalidFilter")
        #expect(error(escaped).2.contains("U+0000"))
        // …and a percent-encoded NUL in the query.
        let encoded = await f.scim("GET", "/Users?filter=userName%20eq%20%22ada%00%22", token: token)
        #expect(encoded.status == 400)
        #expect(error(encoded).1 == "invalidFilter")
        let path = await f.scim("GET", "/Users/abc%00def", token: token)
        #expect(path.status == 400)
        #expect(error(path).1 == "invalidValue")
    }

    /// NFC and NFD spellings of one name, and upper and lower case, are one userName everywhere:
    /// uniqueness, filters and SSO (RFC 7643 §4.1.1: userName is caseExact=false).
    @Test func unicodeEquivalentNamesAreOneNameEverywhere() async throws {
        let f = try ServiceFixture()
        let token = try await f.connection().token
        let nfc = "jos\u{E9}@example.com"
        let nfd = "jose\u{301}@example.com"
        #expect(nfc.unicodeScalars.count != nfd.unicodeScalars.count)
        let created = await f.scim("POST", "/Users", token: token, body: ["userName": .string(nfc), "emails": [["value": .string(nfc)]]])
        #expect(created.status == 201)
        let duplicate = await f.scim("POST", "/Users", token: token, body: ["userName": .string(nfd)])
        #expect(duplicate.status == 409)
        #expect(error(duplicate).1 == "uniqueness")
        let upper = await f.scim("POST", "/Users", token: token, body: ["userName": "JOS\u{C9}@EXAMPLE.COM"])
        #expect(upper.status == 409)
        let filtered = await f.scim(
            "GET", "/Users?filter=userName%20eq%20%22\(nfd.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)%22", token: token)
        #expect(filtered.body?["totalResults"] == 1)
        let elodie = await f.scim("POST", "/Users", token: token, body: ["userName": "\u{E9}lodie@example.com"])
        #expect(elodie.status == 201)
        let shouted = await f.scim("GET", "/Users?filter=userName%20eq%20%22%C3%89LODIE@EXAMPLE.COM%22", token: token)
        #expect(shouted.body?["totalResults"] == 1)
        let sso = try await f.service.resolveSSO(.init(connection: "Acme", claims: ["email": .string(nfd.uppercased())]))
        #expect(sso.verdict == "allow")
        #expect(sso.user?.id == created.body?["id"]?.stringValue)
    }
}

/// `foldedKey`'s ASCII path agrees with the Unicode one (composition, then lowercasing) on every
/// ASCII character in every position, and non-ASCII text still folds the Unicode way.
@Suite struct FoldedKeyTests {
    @Test func theASCIIPathAgreesWithTheUnicodePath() {
        let all = (0..<128).map { Character(Unicode.Scalar(UInt8($0))) }
        let samples = [String(all), String(all.reversed()), "Alice@Example.COM", "bob", "", "ZZ top", "a\u{7F}B"]
        for sample in samples {
            #expect(foldedKey(sample) == sample.precomposedStringWithCanonicalMapping.lowercased(), "\(sample.debugDescription)")
        }
    }

    @Test func nonASCIITextIsComposedThenLowercased() {
        #expect(foldedKey("A\u{0308}ssa") == "\u{00E4}ssa")
        #expect(foldedKey("\u{00C4}SSA") == "\u{00E4}ssa")
        #expect(foldedKey("Zoë@Example.com") == "zoë@example.com")
    }
}
